"""Which of the user's own metric functions compare every target with every prediction.

Keras aligns targets of shape ``(n,)`` with outputs of shape ``(n, 1)`` before a loss function
sees them, but passes them to a metric function as they are: ``y_true - y_pred`` in a user's
``rmse`` then broadcasts to an ``(n, n)`` matrix, and the logged value mixes every target with
every prediction. Measured here by calling each compiled metric on a few training targets as
``fit`` gives them: a broadcast metric does not care which prediction belongs to which target
(its value stays when the predictions are shifted by one row), and it changes when the
targets get the output's shape. A metric that squeezes the outputs itself depends on the
pairing and is left alone; Keras' own metrics align the ranks and give one value.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import keras
import numpy as np

from advisor.model_facts import loss_name

# Rows of the training targets the metrics are called on: enough for a broadcast to show.
SAMPLE_ROWS = 8
# Values closer than this (relative) are one value computed two ways.
RELATIVE_TOLERANCE = 1e-4


def broadcasting_metrics(metrics: Any, y: np.ndarray, output_units: int | None) -> tuple[str, ...]:
    """Names of the metric functions in ``metrics`` whose value on ``(n,)`` targets against
    ``(n, 1)`` outputs stays when the outputs are shifted by one row and differs from the same
    targets shaped ``(n, 1)``; empty unless the targets are one value per row and the output
    one unit."""
    if y.ndim != 1 or output_units != 1 or len(y) < 2 or y.dtype.kind not in "biuf":
        return ()
    targets = y[:SAMPLE_ROWS].astype(keras.backend.floatx())
    # Predictions on both sides of the targets and distinct from each other, so that a
    # broadcast shows even through a linear reduction of an absolute error.
    ramp = (np.arange(len(targets)) - (len(targets) - 1) / 2) * (float(targets.std()) or 1.0)
    outputs = (targets[::-1] + ramp).astype(targets.dtype)[:, None]
    shifted = np.roll(outputs, 1, axis=0)
    return tuple(
        name
        for name, function in _functions(metrics)
        if not _differs(value := function(targets, outputs), function(targets, shifted))
        and _differs(value, function(targets[:, None], outputs))
    )


def _functions(metrics: Any) -> Iterator[tuple[str, Any]]:
    """The plain functions among compiled metrics (names and Metric objects are Keras' own)."""
    if isinstance(metrics, Mapping):
        metrics = list(metrics.values())
    if isinstance(metrics, list | tuple):
        for metric in metrics:
            yield from _functions(metric)
    elif callable(metrics) and not isinstance(metrics, keras.metrics.Metric | type):
        yield loss_name(metrics) or "metric", _safely(metrics)


def _safely(function: Any) -> Any:
    """``function`` returning NaN instead of raising: a metric that cannot take one shape
    says nothing about broadcasting."""

    def called(y_true: np.ndarray, y_pred: np.ndarray) -> float:
        try:
            value = keras.ops.convert_to_numpy(function(y_true, y_pred))
            return float(np.mean(np.asarray(value, dtype="float64")))
        except Exception:
            return float("nan")

    return called


def _differs(first: float, second: float) -> bool:
    if not (np.isfinite(first) and np.isfinite(second)):
        return False
    return abs(first - second) > RELATIVE_TOLERANCE * max(abs(first), abs(second), 1e-12)
