"""A Keras callback that looks inside the model during the probing fit, cheaply.

Following AUTOTRAINER and DEFault, the cheapest reliable signals come from one fixed batch of
the training data and ``tf.GradientTape`` at a few epochs (before the first step, after the
first epoch, a few in between and the last): per-layer gradient norms of the compiled loss, the
weight-update ratio between records, the share of dead ReLU units and of saturated sigmoid/tanh
outputs. The measurements run in inference mode (``training=False``): no dropout mask is drawn
and no BatchNormalization statistic moves, so the instrumented fit trains exactly as an
uninstrumented one with the same seed would. The result is a TF-free
:class:`~advisor.probe_stats.ProbeStats`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from advisor.arrays import Structure, map_parts, rows, take
from advisor.probe_stats import (
    RECTIFIERS,
    SATURATING_BOUNDS,
    SATURATION_MARGIN,
    LayerStats,
    ProbeStats,
)

# The fixed batch: large enough that a unit silent for all of it is dead rather than unlucky,
# small enough that one forward and backward pass costs a fraction of an epoch.
BATCH_SIZE = 256
# Records after training began (besides the one before the first step): first epoch, evenly
# spaced ones, last epoch.
RECORDS_AFTER_START = 4


def record_epochs(total: int, count: int = RECORDS_AFTER_START) -> frozenset[int]:
    """Epochs after which to record: 0 (before training), 1, evenly spaced ones, ``total``."""
    if total <= 0:
        return frozenset({0})
    steps = max(count - 1, 1)
    return frozenset({0} | {round(1 + (total - 1) * i / steps) for i in range(count)})


class ProbeInstrumentation(keras.callbacks.Callback):  # type: ignore[misc]
    """Records :class:`LayerStats` of every layer on one fixed batch at a few epochs."""

    def __init__(self, x: Structure, y: Structure, *, seed: int = 0) -> None:
        """``x`` and ``y`` as the fit takes them: one array, or several as a list or dict."""
        super().__init__()
        rng = np.random.default_rng(seed)
        n = rows(y)
        chosen = np.sort(rng.choice(n, size=min(BATCH_SIZE, n), replace=False))
        self._batch_size = len(chosen)
        self._x = map_parts(take(x, chosen), tf.constant)
        self._y = map_parts(take(y, chosen), tf.constant)
        self._epochs: list[int] = []
        self._rows: list[dict[str, dict[str, float]]] = []
        self._previous: dict[str, list[np.ndarray]] = {}
        self._schedule: frozenset[int] = frozenset()
        self._layers: list[Any] = []
        self._forward: Any = None  # model outputs plus measured hidden outputs, one pass
        self._measured: list[tuple[Any, str]] = []
        self._seconds = 0.0
        self._last_epoch = 0
        # Traced on the first record, then every record runs as one graph: cheaper than eager
        # ops, above all for recurrent layers, which loop over time steps in Python when eager.
        self._measure = tf.function(self._measure_batch, autograph=False)

    # ---- Keras hooks ------------------------------------------------------------------------

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        started = time.perf_counter()
        self._schedule = record_epochs(int(self.params.get("epochs") or 0))
        self._layers = _leaf_layers(self.model)
        self._measured = _measured_activations(self.model)
        if self._measured:
            hidden = [layer.output for layer, _ in self._measured]
            self._forward = keras.Model(self.model.inputs, [*self.model.outputs, *hidden])
        self._seconds += time.perf_counter() - started
        if not self._epochs:  # a continued fit keeps the records of the fit it continues
            self._record(0)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._last_epoch = epoch + 1
        if epoch + 1 in self._schedule:
            self._record(epoch + 1)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        """Stopped early (EarlyStopping, NaN): the last epoch run is recorded all the same."""
        if self._epochs and self._last_epoch > self._epochs[-1]:
            self._record(self._last_epoch)

    # ---- measuring ----------------------------------------------------------------------

    def _record(self, epoch: int) -> None:
        started = time.perf_counter()
        gradient_values, hidden = self._measure()
        gradients = iter(gradient_values)
        row: dict[str, dict[str, float]] = {}
        for layer in self._layers:
            weights = [np.asarray(w) for w in layer.trainable_weights]
            if not weights:
                continue
            entry = row.setdefault(layer.path, {})
            entry["gradient"] = _norm([np.asarray(next(gradients)) for _ in weights])
            entry["weight"] = _norm(weights)
            previous = self._previous.get(layer.path)
            if previous is not None:
                before = _norm(previous)
                change = _norm([now - then for now, then in zip(weights, previous, strict=True)])
                entry["update"] = change / before if before > 0 else float("nan")
            self._previous[layer.path] = weights
        for (layer, activation), output in zip(self._measured, hidden, strict=True):
            values = np.asarray(output)
            if activation in RECTIFIERS:
                row.setdefault(layer.path, {})["dead"] = _dead_fraction(values)
            else:
                row.setdefault(layer.path, {})["saturated"] = _saturated_fraction(
                    values, activation
                )
        self._epochs.append(epoch)
        self._rows.append(row)
        self._seconds += time.perf_counter() - started

    def _measure_batch(self) -> tuple[list[Any], list[Any]]:
        """The compiled loss's gradient for every trainable weight, and the measured hidden
        layers' outputs, on the fixed batch. Norms and shares are taken in NumPy afterwards:
        every op left out of this graph makes its one-off tracing cheaper."""
        variables = [v for layer in self._layers for v in layer.trainable_weights]
        with tf.GradientTape() as tape:
            if self._forward is None:
                predictions, hidden = self.model(self._x, training=False), []
            else:  # one forward pass gives the prediction and the hidden outputs
                predictions, *hidden = self._forward(self._x, training=False)
            loss = self.model.compute_loss(x=self._x, y=self._y, y_pred=predictions, training=False)
        gradients = [  # an Embedding's gradient is IndexedSlices: densified
            tf.zeros_like(v) if g is None else tf.convert_to_tensor(g)
            for v, g in zip(variables, tape.gradient(loss, variables), strict=True)
        ]
        return gradients, hidden

    def stats(self) -> ProbeStats:
        """Everything recorded so far, one :class:`LayerStats` per layer in model order."""
        measured = {layer.path: activation for layer, activation in self._measured}
        layers = []
        for layer in self._layers:
            if not layer.trainable_weights and layer.path not in measured:
                continue
            series = [row.get(layer.path, {}) for row in self._rows]

            def column(key: str, rows: list[dict[str, float]] = series) -> tuple[float, ...]:
                return tuple(row[key] for row in rows if key in row)

            layers.append(
                LayerStats(
                    name=layer.name,
                    kind=type(layer).__name__,
                    activation=measured.get(layer.path),
                    n_weights=int(sum(np.prod(w.shape) for w in layer.trainable_weights)),
                    gradient_norms=column("gradient"),
                    weight_norms=column("weight"),
                    update_ratios=column("update"),
                    dead_fractions=column("dead"),
                    saturated_fractions=column("saturated"),
                )
            )
        return ProbeStats(
            epochs=tuple(self._epochs),
            batch_size=self._batch_size,
            layers=tuple(layers),
            seconds=self._seconds,
        )


def _leaf_layers(model: Any) -> list[Any]:
    """The model's layers in order, looking inside nested models (a Sequential in a Sequential)."""
    leaves: list[Any] = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            leaves.extend(_leaf_layers(layer))
        else:
            leaves.append(layer)
    return leaves


def _activation_name(layer: Any) -> str | None:
    """ "relu", "sigmoid" or "tanh" when the layer's output is that activation's output."""
    if type(layer).__name__ == "ReLU":
        plain = not layer.negative_slope and layer.max_value is None and not layer.threshold
        return "relu" if plain else None
    name = getattr(getattr(layer, "activation", None), "__name__", None)
    return name if name in RECTIFIERS or name in SATURATING_BOUNDS else None


def _measured_activations(model: Any) -> list[tuple[Any, str]]:
    """Hidden top-level layers whose outputs can be read from a functional graph.

    Output layers are left out (a confident sigmoid output is the goal, not a fault); so are
    subclassed models, whose layers have no symbolic outputs to read, and models with several
    outputs (the advisor handles single-output models).
    """
    if not getattr(model, "inputs", None) or len(getattr(model, "outputs", None) or ()) != 1:
        return []
    final = {id(output) for output in model.outputs}
    measured = []
    for layer in model.layers:
        activation = _activation_name(layer)
        if activation is None or isinstance(layer, keras.Model):
            continue
        if id(layer.output) not in final:
            measured.append((layer, activation))
    return measured


def _norm(arrays: Sequence[np.ndarray]) -> float:
    return float(np.sqrt(sum(float(np.sum(np.square(a, dtype=np.float64))) for a in arrays)))


def _dead_fraction(values: np.ndarray) -> float:
    """Share of units (last axis) whose output is 0 for every sample and position."""
    per_unit = np.max(values.reshape(-1, values.shape[-1]), axis=0)
    return float(np.mean(per_unit <= 0.0))


def _saturated_fraction(values: np.ndarray, activation: str) -> float:
    """Share of outputs within :data:`SATURATION_MARGIN` of the range's ends."""
    low, high = SATURATING_BOUNDS[activation]
    margin = SATURATION_MARGIN * (high - low)
    return float(np.mean((values <= low + margin) | (values >= high - margin)))
