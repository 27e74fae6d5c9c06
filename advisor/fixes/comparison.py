"""Baseline against fix on one slice: means, spreads, deltas, a test and the size of the effect.

The loss compared is the task's loss without regularisation penalty (see
:func:`advisor.training.evaluate`). A difference counts only when it is both *beyond noise*
and *large enough to matter*:

- beyond noise: over seeds, a paired t-test on the per-seed losses when there are several
  repeats, on their logarithms when every loss is positive (a fix scales a loss: an unstable
  plan's seeds at 0.6 and 10.5 both cut by three quarters are one consistent effect, which the
  differences 0.45 and 7.9 hide in their spread); with one seed, a paired t-test on per-sample
  losses (only the noise of the slice's samples is measured then, and the statement says
  seed-to-seed noise was not);
- large enough: the task loss moves by at least :data:`MIN_RELATIVE_LOSS_CHANGE` of the
  baseline's. A significant change smaller than that is ``negligible``, never ``improved``.

A loss that is NaN or infinite is judged seed by seed (fold by fold): on each, a finite loss
beats a diverged one. A fix that diverges where the baseline does not broke training; one that
stays finite where the baseline diverged is a gain, unless it is higher by the minimum that
counts on the seeds where both are finite (a fix that only trades one divergence for a worse
model everywhere else is no gain); seeds where both diverge say nothing.

The same rules judge the selection slice (which decides) and the holdout (which only reports).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from scipy import stats

from advisor.metric_names import mode_of
from advisor.outcomes.scores import (
    MIN_RELATIVE_LOSS_CHANGE,
    SIGNIFICANCE,
    Comparison,
    Effect,
    MetricComparison,
    Scores,
    Slice,
)


def compare(
    baseline: Sequence[Scores],
    fixed: Sequence[Scores],
    *,
    where: Slice,
    significance: float = SIGNIFICANCE,
) -> Comparison:
    """Compare paired runs (``baseline[i]`` and ``fixed[i]`` share seed ``i``, or on
    cross-validation fold ``i``) on ``where``, beyond noise at the ``significance`` level (a
    sequential test's later looks use a stricter one)."""
    names = ["loss", *(n for n in baseline[0].metrics if n in fixed[0].metrics)]
    metrics = tuple(_metric(name, baseline, fixed) for name in names)
    loss = metrics[0]
    if not math.isfinite(loss.baseline) or not math.isfinite(loss.fixed):
        return _nonfinite(baseline, fixed, metrics, where, significance)
    if len(baseline) >= 2:
        runs = f"{len(baseline)} {'folds' if where == Slice.CROSS_VALIDATION else 'seeds'}"
        before, after = np.array([s.loss for s in baseline]), np.array([s.loss for s in fixed])
        ratios = min(before.min(), after.min()) > 0
        test = f"paired t-test {'on log losses ' if ratios else ''}over {runs}"
        if ratios:
            before, after = np.log(before), np.log(after)
        p_value = _p(stats.ttest_rel(before, after).pvalue)
        scope = f"across {runs}"
    else:
        test = f"paired t-test on per-sample {where} losses (one seed)"
        p_value = _per_sample_p(baseline[0].per_sample_loss, fixed[0].per_sample_loss)
        scope = "with one seed (seed-to-seed noise not measured; use --repeats)"
    change = f"{where} loss {loss.baseline:.4g} -> {loss.fixed:.4g} ({loss.relative:+.1%})"
    effect = _effect(loss, p_value, significance)
    minimum = f"the {MIN_RELATIVE_LOSS_CHANGE:.0%} minimum"
    meaning = {
        "improved": f"lower beyond noise and by more than {minimum}",
        "worse": f"higher beyond noise and by more than {minimum}",
        "negligible": f"beyond noise but smaller than {minimum}",
        "within-noise": "within noise",
    }[effect]
    level = "" if significance == SIGNIFICANCE else f" (level {significance:.2g})"
    statement = f"{change}: {meaning} {scope}, p={p_value:.2g}{level}"
    return Comparison(metrics, len(baseline), effect, p_value, test, statement, where)


def _effect(loss: MetricComparison, p_value: float, significance: float) -> Effect:
    if p_value >= significance:
        return "within-noise"
    if abs(loss.relative) < MIN_RELATIVE_LOSS_CHANGE:
        return "negligible"
    return "improved" if loss.better else "worse"


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
    baseline: Sequence[Scores],
    fixed: Sequence[Scores],
    metrics: tuple[MetricComparison, ...],
    where: Slice,
    significance: float,
) -> Comparison:
    """Paired runs some of whose losses are NaN/inf, judged run by run (see the module doc)."""
    finite = [
        (math.isfinite(b.loss), math.isfinite(f.loss))
        for b, f in zip(baseline, fixed, strict=True)
    ]
    unit = "fold" if where == Slice.CROSS_VALIDATION else "seed"
    broke = _runs([b and not f for b, f in finite], unit)
    rescued = _runs([f and not b for b, f in finite], unit)
    both = [i for i, (b, f) in enumerate(finite) if b and f]
    rest = None
    if both:  # the runs where both plans stay finite are compared as usual
        rest = compare(
            [baseline[i] for i in both], [fixed[i] for i in both], where=where,
            significance=significance,
        )
    effect: Effect
    if broke:
        effect = "worse"
        statement = (
            f"the fixed model's {where} loss is {metrics[0].fixed} ({broke} where the "
            "baseline's is finite): the fix broke training"
        )
    elif rest is not None and not rescued:
        # Both diverge on the other runs, which say nothing: the means are those of the rest.
        both_diverge = _runs([not b for b, _ in finite], unit)
        statement = f"both diverge {both_diverge}; on the others, {rest.statement}"
        return replace(rest, repeats=len(finite), statement=statement)
    elif not rescued:
        effect = "within-noise"
        statement = f"both baseline and fix give a non-finite {where} loss: nothing was gained"
    else:
        effect = "improved"
        statement = (
            f"the baseline's {where} loss is {metrics[0].baseline} ({rescued}: it predicts "
            f"NaN/inf), with the fix it is finite there"
        )
        if rest is None:
            statement += f" ({metrics[0].fixed:.4g})"
        elif rest.effect == "worse" or rest.loss.relative >= MIN_RELATIVE_LOSS_CHANGE:
            # Trading one divergence for a worse model on every other run is no gain.
            effect = "worse" if rest.effect == "worse" else "within-noise"
            statement += f", but higher on the others: {rest.statement}"
        else:
            statement += f"; on the others, {rest.statement}"
    return Comparison(
        metrics, len(finite), effect, None, "none (non-finite loss)", statement, where
    )


def _runs(which: Sequence[bool], unit: str) -> str:
    """How many of the paired runs ``which`` picks, in words ('' when none): ``on 1 of 3
    seeds``, or ``on the one seed``."""
    count = sum(which)
    if not count:
        return ""
    return f"on the one {unit}" if len(which) == 1 else f"on {count} of {len(which)} {unit}s"


def _per_sample_p(before: np.ndarray, after: np.ndarray) -> float:
    if not np.any(after - before):
        return 1.0
    return _p(stats.ttest_rel(before, after).pvalue)


def _p(value: float) -> float:
    return float(value) if math.isfinite(float(value)) else 1.0
