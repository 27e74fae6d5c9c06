"""## What it detects
A loss that swings up and down from epoch to epoch instead of trending: the optimiser's step
is so large that it jumps across the minimum rather than settling into it.

## Why it matters
Which epoch the run happens to stop on decides how good the model is; the final weights are
a lottery ticket, and the best minimum is never reached. It is the mild form of divergence:
the same too-large step, not yet large enough to blow the loss up.

## Evidence
A *swing* is a reversal of direction (up after down, or down after up). Only steps that
matter count: at least 10 % of the loss value (`MIN_STEP`), or at least 20 % of the range
the curve spans after its first epoch (`MIN_SHARE_OF_RANGE`) while still 5 % of the value
(`MIN_SMALL_STEP`); so a loss bouncing between 2.20 and 2.35 counts and the wobble of a
converged curve does not. The rule counts swings per logged epoch (*swing rate*) and fires
when `val_loss` swings at a rate of 0.15 or more (`MIN_VAL_SWING_RATE`), or the training
`loss` (averaged over each epoch, hence smoother) at 0.45 or more (`MIN_TRAIN_SWING_RATE`),
with at least 3 swings (`MIN_SWINGS`) either way. Validation logged every few epochs is counted
per logged value. A too-large step drags `val_loss` up as well: this rule supersedes the
overfitting rule. Runs that diverged are left to the divergence rule, which supersedes this one.
A multi-output model is judged as a whole and head by head (`<head>_loss`, evidence `head`).

## Fix
`lower-lr`: divide the learning rate by 3 to 10 (for Adam, 1e-3 is the usual ceiling).
`lr-decay`: `ReduceLROnPlateau(monitor="val_loss", mode="min", factor=0.5, patience=3)` or a
decaying schedule keeps the fast start and takes smaller steps once the swings begin.

**Fix safety:** a lower learning rate can make a run that was healthy slower to converge; the
advisor retrains with it and compares before recommending it.
"""

from __future__ import annotations

from advisor.findings import Finding, Severity
from advisor.history import TrainingHistory
from advisor.rule import Rule, RuleContext
from rules import _series

MIN_STEP = 0.10
MIN_SHARE_OF_RANGE = 0.20
MIN_SMALL_STEP = 0.05
MIN_SWINGS = 3
# Calibrated on fixtures/histories/corpus and a re-recording of it with other seeds: val_loss
# swing rate is at most 0.08 in healthy runs and 0.06 in other non-diverged runs; oscillation
# runs have at least 0.25 (one re-recorded mild run that drifted into overfitting: 0.02).
MIN_VAL_SWING_RATE = 0.15
# Training loss alone: overfitting runs with a jumpy train loss (a big net at lr 3e-3 on 100
# samples) reach 0.29, so the bar sits well above them; oscillation runs reach 0.92.
MIN_TRAIN_SWING_RATE = 0.45


def measure(curves: _series.LossCurves) -> dict[str, dict[str, float | int]]:
    """Swings and swing rate of the training and validation loss (the whole model's or one
    head's), keyed by their logged names."""
    measured: dict[str, dict[str, float | int]] = {}
    for series, name in ((curves.train, curves.train_name), (curves.val, curves.val_name)):
        swings = _series.count_swings(series.values, MIN_STEP, MIN_SHARE_OF_RANGE, MIN_SMALL_STEP)
        measured[name] = {
            "swings": swings,
            "swing_rate": swings / max(1, len(series) - 2),
            "low": min(series.values),
            "high": max(series.values[1:]),
        }
    return measured


def _judge(curves: _series.LossCurves, history: TrainingHistory) -> Finding | None:
    measured = measure(curves)
    thresholds = {curves.val_name: MIN_VAL_SWING_RATE, curves.train_name: MIN_TRAIN_SWING_RATE}
    for name, threshold in thresholds.items():
        swing = measured[name]
        if swing["swings"] >= MIN_SWINGS and swing["swing_rate"] >= threshold:
            return RULE.finding(
                f"{curves.label}{name} reversed direction {swing['swings']} times in "
                f"{len(history.series[name])} logged epochs, swinging between "
                f"{swing['low']:.4g} and {swing['high']:.4g} instead of trending down",
                evidence={
                    "monitor": name,
                    "mode": "min",
                    "min_step": MIN_STEP,
                    **curves.evidence,
                    **swing,
                },
                fixes=("lower-lr", "lr-decay"),
                directions={"lower-lr": "down"},  # steps too large: a smaller rate
            )
    return None


def check(history: TrainingHistory, context: RuleContext) -> list[Finding]:
    return _series.per_head(lambda curves: _judge(curves, history), history)


RULE = Rule(
    id="oscillation",
    code="ADV103",
    severity=Severity.WARNING,
    summary="Loss swings up and down instead of trending: the step is too large.",
    doc=__doc__ or "",
    check=check,
    supersedes=("overfitting",),
)
