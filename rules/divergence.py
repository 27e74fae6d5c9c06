"""## What it detects
Training loss that becomes NaN or infinite, or that blows up by orders of magnitude above its
starting value.

## Why it matters
Once the loss is NaN the weights are NaN too: every later epoch is wasted and the saved model
predicts nothing. A loss exploding upward means the optimiser steps overshoot so far that the
model moves away from any minimum; it rarely recovers on its own.

## Evidence
The first epoch whose `loss` (or `val_loss`) is NaN or inf; or the ratio of the highest finite
training loss after the first epoch to the first epoch's loss (flagged at 100x and above).

## Fix
`lower-lr`: divide the learning rate by 10. If the inputs are on large scales, `standardize`
them too (see `scale-imbalance`): huge inputs make huge gradients.

**Fix safety:** lowering the learning rate slows training of a healthy model; the advisor
retrains and compares before recommending it.
"""

from __future__ import annotations

import math

from advisor.findings import Finding, Severity
from advisor.history import TrainingHistory
from advisor.rule import Rule, RuleContext

BLOW_UP_RATIO = 100.0


def check(history: TrainingHistory, context: RuleContext) -> list[Finding]:
    for key in ("loss", "val_loss"):
        series = history.get(key)
        if series is None:
            continue
        bad_epoch = series.first_nonfinite_epoch()
        if bad_epoch is not None:
            value = series.values[series.epochs.index(bad_epoch)]
            return [
                RULE.finding(
                    f"{key} became {value} at epoch {bad_epoch}: training diverged",
                    evidence={"metric": key, "epoch": bad_epoch, "value": value},
                    fixes=("lower-lr", "standardize"),
                )
            ]
    loss = history.get("loss")
    if loss is None or len(loss) < 2 or loss.values[0] <= 0:
        return []
    peak = max(loss.values[1:])
    ratio = peak / loss.values[0]
    if ratio < BLOW_UP_RATIO or not math.isfinite(ratio):
        return []
    peak_epoch = loss.epochs[1 + loss.values[1:].index(peak)]
    return [
        RULE.finding(
            f"loss rose from {loss.values[0]:.4g} to {peak:.4g} ({ratio:.0f}x) by epoch "
            f"{peak_epoch}: training is blowing up",
            evidence={
                "metric": "loss",
                "first": loss.values[0],
                "peak": peak,
                "peak_epoch": peak_epoch,
                "ratio": ratio,
            },
            fixes=("lower-lr", "standardize"),
        )
    ]


RULE = Rule(
    id="divergence",
    code="ADV104",
    severity=Severity.ERROR,
    summary="Loss becomes NaN/inf or blows up by orders of magnitude.",
    doc=__doc__ or "",
    check=check,
)
