"""Baseline against fix on the holdout slice: means, spreads, deltas and an honest verdict.

The loss compared is the task's loss without regularisation penalty (see
:func:`advisor.training.evaluate`). Whether a difference is beyond noise is tested with scipy:
over seeds with a paired t-test when there are several repeats; with one seed, only the noise
of the holdout's samples can be measured (a paired t-test on per-sample losses, which tests
the same mean difference the report shows),
and the statement says that seed-to-seed noise was not measured.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from advisor.metric_names import mode_of

SIGNIFICANCE = 0.05
Verdict = Literal["improved", "within-noise", "worse"]


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
    def better(self) -> bool:
        """A finite result beats a NaN/inf one; otherwise the delta's sign decides."""
        if not math.isfinite(self.baseline) or not math.isfinite(self.fixed):
            return math.isfinite(self.fixed) and not math.isfinite(self.baseline)
        return self.delta > 0 if self.higher_is_better else self.delta < 0


@dataclass(frozen=True)
class Comparison:
    metrics: tuple[MetricComparison, ...]
    repeats: int
    verdict: Verdict
    p_value: float | None
    test: str
    statement: str

    @property
    def loss(self) -> MetricComparison:
        return self.metrics[0]


def compare(
    baseline: Sequence[Scores], fixed: Sequence[Scores], *, measured_on: str = "holdout"
) -> Comparison:
    """Compare paired runs (``baseline[i]`` and ``fixed[i]`` share seed ``i``), measured on
    the ``measured_on`` slice (validation when the data was too small for a holdout)."""
    names = ["loss", *(n for n in baseline[0].metrics if n in fixed[0].metrics)]
    metrics = tuple(_metric(name, baseline, fixed) for name in names)
    loss = metrics[0]
    if not math.isfinite(loss.baseline) or not math.isfinite(loss.fixed):
        return _nonfinite(metrics, len(baseline), measured_on)
    if len(baseline) >= 2:
        test = f"paired t-test over {len(baseline)} seeds"
        p_value = _p(stats.ttest_rel([s.loss for s in baseline], [s.loss for s in fixed]).pvalue)
        scope = f"across {len(baseline)} seeds"
    else:
        test = "paired t-test on per-sample holdout losses (one seed)"
        p_value = _per_sample_p(baseline[0].per_sample_loss, fixed[0].per_sample_loss)
        scope = "on this holdout with one seed (seed-to-seed noise not measured; use --repeats)"
    change = f"{measured_on} loss {loss.baseline:.4g} -> {loss.fixed:.4g} ({_relative(loss):+.1%})"
    if p_value < SIGNIFICANCE:
        verdict: Verdict = "improved" if loss.better else "worse"
        statement = f"{change}: {verdict} beyond noise {scope}, p={p_value:.2g}"
    else:
        verdict = "within-noise"
        statement = f"{change}: within noise {scope}, p={p_value:.2g}"
    return Comparison(metrics, len(baseline), verdict, p_value, test, statement)


def _metric(name: str, baseline: Sequence[Scores], fixed: Sequence[Scores]) -> MetricComparison:
    before = np.array([s.as_dict()[name] for s in baseline])
    after = np.array([s.as_dict()[name] for s in fixed])
    return MetricComparison(
        name=name,
        baseline=float(np.mean(before)),
        baseline_spread=float(np.std(before)),
        fixed=float(np.mean(after)),
        fixed_spread=float(np.std(after)),
        higher_is_better=mode_of(name) == "max",
    )


def _nonfinite(
    metrics: tuple[MetricComparison, ...], repeats: int, measured_on: str
) -> Comparison:
    loss = metrics[0]
    if math.isfinite(loss.fixed):
        verdict: Verdict = "improved"
        statement = (
            f"the baseline's {measured_on} loss is {loss.baseline} (it predicts NaN/inf); "
            f"with the fix it is {loss.fixed:.4g}"
        )
    elif math.isfinite(loss.baseline):
        verdict = "worse"
        statement = f"the fixed model's {measured_on} loss is {loss.fixed}: the fix broke training"
    else:
        verdict = "within-noise"
        statement = (
            f"both baseline and fix give a non-finite {measured_on} loss: nothing was gained"
        )
    return Comparison(metrics, repeats, verdict, None, "none (non-finite loss)", statement)


def _per_sample_p(before: np.ndarray, after: np.ndarray) -> float:
    if not np.any(after - before):
        return 1.0
    return _p(stats.ttest_rel(before, after).pvalue)


def _p(value: float) -> float:
    return float(value) if math.isfinite(float(value)) else 1.0


def _relative(metric: MetricComparison) -> float:
    return metric.delta / abs(metric.baseline) if metric.baseline else 0.0
