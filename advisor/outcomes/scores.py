"""Scores and comparisons as plain data: what a fit measured on a slice, and baseline against
fix on one slice. The rules that produce a :class:`Comparison` (a paired test, the minimum
change that counts) are :mod:`advisor.fixes.comparison`; training and the report only read
these values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Literal

import numpy as np

# A compiled metric of the loss's own class, named so: Keras logs it as ``val_task_loss``, the
# validation loss without any regularisation penalty (``val_loss`` includes L2's).
TASK_LOSS = "task_loss"
# The claim rules (applied by advisor.fixes.comparison, exported with every verdict):
SIGNIFICANCE = 0.05
# The smallest change of the task loss, relative to the baseline's, that a user would care
# about: a 5 % lower loss. A p-value alone only says a difference is unlikely to be zero.
MIN_RELATIVE_LOSS_CHANGE = 0.05
Effect = Literal["improved", "worse", "negligible", "within-noise"]


class Slice(str, Enum):
    """The slice a comparison was measured on; the value is how statements name it."""

    # Validation and the selection slice pooled: decisions are made on it...
    SELECTION = "selection data (validation + selection slice)"
    # ...unless a compared plan watches validation (early stopping, LR decay), which flatters
    # it there, or validates on other rows (a shuffled split, which trains on some of the
    # user's): then the selection slice alone decides (see advisor.fixes.deciding).
    SELECTION_ALONE = "selection slice (validation left out)"
    # Carved before anything was trained, looked at only after the decision, for the report.
    HOLDOUT = "holdout"
    # Data too small for a holdout: validation alone decides, and is all there is to report on.
    VALIDATION = "validation"
    # A script's few rows and no validation: every row is needed, so each fold trains on all
    # but a few and is scored on those; nothing is left untouched to confirm the decision.
    CROSS_VALIDATION = "cross-validation"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Scores:
    """The task's loss without any regularisation penalty, per sample and on average, and the
    compiled metrics, on one set of samples."""

    loss: float
    metrics: Mapping[str, float]
    per_sample_loss: np.ndarray

    def as_dict(self) -> dict[str, float]:
        return {"loss": self.loss, **self.metrics}


@dataclass(frozen=True)
class MetricComparison:
    name: str
    baseline: float
    baseline_spread: float
    fixed: float
    fixed_spread: float
    higher_is_better: bool

    @property
    def delta(self) -> float:
        return self.fixed - self.baseline

    @property
    def relative(self) -> float:
        """The change as a share of the baseline (0 when the baseline is 0)."""
        return self.delta / abs(self.baseline) if self.baseline else 0.0

    @property
    def better(self) -> bool:
        """A finite result beats a NaN/inf one; otherwise the delta's sign decides."""
        if not math.isfinite(self.baseline) or not math.isfinite(self.fixed):
            return math.isfinite(self.fixed) and not math.isfinite(self.baseline)
        return self.delta > 0 if self.higher_is_better else self.delta < 0


@dataclass(frozen=True)
class Comparison:
    """Baseline against fix on one slice (``where``), and what the difference amounts to."""

    metrics: tuple[MetricComparison, ...]
    repeats: int
    effect: Effect
    p_value: float | None
    test: str
    statement: str
    where: Slice

    @property
    def loss(self) -> MetricComparison:
        return self.metrics[0]
