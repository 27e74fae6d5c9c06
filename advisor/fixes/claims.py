"""What stops a holdout loss gain from being claimed as "improved": the user's own metrics.

A lower task loss is what the decision compares, but the user compiled metrics because they
care about them. The claim "improved" therefore also needs:

- **no compiled metric worse beyond noise on the holdout**, except a metric function that
  broadcasts its targets against the outputs (rule ``metric-broadcast``): its value mixes
  every target with every prediction and says nothing for or against a model. For a
  proportion (accuracy, AUC, precision, recall: values in [0, 1], higher is better) the noise
  is a proportion's standard error on the holdout's samples, plus the seed spread when there
  are repeats; a drop beyond :data:`NOISE_Z` of them is a regression. For any other metric
  (an error such as ``mae``) no per-sample noise is measured, so a change counts when it is
  beyond the seed spread *and* larger than the minimum that counts for the loss;
- **a classifier above chance.** A holdout accuracy not above the majority class's share
  beyond noise (one-sided, :data:`CHANCE_Z` standard errors, at least :data:`CHANCE_MARGIN`)
  is what predicting that class scores: a loss gain there is calibration, not a model.

Pure: numbers in, sentences out; the fix step turns any sentence into ``unconfirmed``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from advisor.outcomes.scores import MIN_RELATIVE_LOSS_CHANGE, Comparison, MetricComparison

# Two standard errors: about the 5% two-sided level the loss test uses.
NOISE_Z = 2.0
# Above chance is one-sided: the 5% one-sided level of a proportion's normal approximation,
# and never less than CHANCE_MARGIN above the majority share.
CHANCE_Z = 1.645
CHANCE_MARGIN = 0.02


def claim_objections(
    holdout: Comparison,
    *,
    samples: int,
    majority_share: float | None,
    broadcasting: tuple[str, ...] = (),
) -> tuple[str, ...]:
    """Why a holdout loss gain may not be claimed (empty when nothing stands against it).
    ``majority_share`` is the holdout's most common class's share (None: not a classifier);
    ``broadcasting`` names metrics that measure no model (see the module's docstring)."""
    objections = [
        f"{m.name} is worse beyond noise ({m.baseline:.4g} -> {m.fixed:.4g})"
        for m in holdout.metrics[1:]
        if m.name not in broadcasting and _worse_beyond_noise(m, samples, holdout.repeats)
    ]
    accuracy = next((m for m in holdout.metrics if "accuracy" in m.name), None)
    if accuracy is not None and majority_share is not None:
        margin = max(CHANCE_MARGIN, CHANCE_Z * _proportion_error(majority_share, samples))
        chance = majority_share + margin
        if accuracy.fixed <= chance:
            objections.append(
                f"{accuracy.name} {accuracy.fixed:.4g} is at chance: predicting the most common "
                f"class scores {majority_share:.4g}"
            )
    return tuple(objections)


def majority_share(y: Any) -> float:
    """The share of the most common class among classification targets ``y`` (class ids,
    0/1 or probabilities for one unit, or one-hot rows)."""
    targets = np.asarray(y)
    if targets.ndim > 1 and targets.shape[-1] > 1:
        labels = targets.reshape(len(targets), -1).argmax(axis=1)
    else:
        labels = np.rint(targets.reshape(len(targets))).astype(int)
    _, counts = np.unique(labels, return_counts=True)
    return float(counts.max() / counts.sum()) if counts.size else 0.0


def _worse_beyond_noise(metric: MetricComparison, samples: int, repeats: int) -> bool:
    if not (math.isfinite(metric.baseline) and math.isfinite(metric.fixed)) or metric.better:
        return False
    drop = abs(metric.fixed - metric.baseline)
    seeds = (metric.baseline_spread**2 + metric.fixed_spread**2) / max(repeats, 1)
    if _is_proportion(metric):
        sampled = (_proportion_error(metric.baseline, samples) ** 2
                   + _proportion_error(metric.fixed, samples) ** 2)
        return drop > NOISE_Z * math.sqrt(sampled + seeds)
    large = drop > MIN_RELATIVE_LOSS_CHANGE * abs(metric.baseline)
    return large and drop > NOISE_Z * math.sqrt(seeds)


def _is_proportion(metric: MetricComparison) -> bool:
    return metric.higher_is_better and all(0.0 <= v <= 1.0 for v in (metric.baseline, metric.fixed))


def _proportion_error(share: float, samples: int) -> float:
    return math.sqrt(max(share * (1.0 - share), 0.0) / max(samples, 1))
