"""## What it detects
Training loss that becomes NaN or infinite, or that blows up by orders of magnitude: far above
its starting value, or far above the best value it had already reached.

## Why it matters
Once the loss is NaN the weights are NaN too: every later epoch is wasted and the saved model
predicts nothing. A loss exploding upward means the optimiser steps overshoot so far that the
model moves away from any minimum; it rarely recovers on its own.

## Evidence
The first epoch whose `loss` (or `val_loss`) is NaN or inf. Otherwise the training loss is
compared with two references: its first epoch (flagged at 100x and above, `BLOW_UP_RATIO`) and
the lowest value reached so far (flagged at 1000x and above, `BLOW_UP_FROM_BEST_RATIO`, when
the jump also lands within 10x of the starting loss, `NEAR_START`). The second catches runs
that learnt at first and then ran away, or that jump between absurd values after a first-epoch
explosion.

A run can also blow up inside its first epoch and come back down, because the explosion
killed every unit and the net settled on a constant. When the advisor saw the targets, the
first epoch's loss is compared with what an untrained or constant prediction costs (the larger
of the loss of predicting the mean and of predicting 0): at 100x that (`BLOW_UP_RATIO`) and
100x the loss the run ended at, the first steps blew the weights up. `advisor check` cannot
know that reference and skips this test.

A net that blew up predicts one class for every input: a `majority-class` finding beside this
one is its consequence (this rule `explains` it), listed after it, and counts as dealt with
when this finding's fix is applied.

## Fix
`lower-lr`: divide the learning rate by 10. If the inputs are on large scales, `standardize`
them too (see `scale-imbalance`): huge inputs make huge gradients.

**Fix safety:** lowering the learning rate slows training of a healthy model; the advisor
retrains and compares before recommending it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from advisor.findings import Finding, Severity
from advisor.history import TrainingHistory
from advisor.rule import Rule, RuleContext

if TYPE_CHECKING:
    from advisor.fix import Direction

BLOW_UP_RATIO = 100.0
# Calibrated on fixtures/histories/corpus: the largest jump above the best-so-far loss in any
# non-diverging run is 78x (a linear model at lr=1.0 whose loss is near 0.01); diverging runs
# jump by 1e4x and more.
BLOW_UP_FROM_BEST_RATIO = 1000.0
# ... and only when the jump lands within 10x of the starting loss: a cross-entropy near zero
# may jump 1000x and still be far below where it started, which is noise, not a blow-up.
NEAR_START = 0.1
# A run that blew up took steps too large: the learning rate is searched below the user's.
DOWN: Final[Mapping[str, Direction]] = {"lower-lr": "down"}


def _first_epoch_blow_up(history: TrainingHistory, context: RuleContext) -> Finding | None:
    """A first epoch orders of magnitude above both a constant prediction and the run's end."""
    loss = history.get("loss")
    model = context.model
    if model is None or loss is None or len(loss) < 2 or not loss.all_finite:
        return None
    references = [v for v in (model.constant_loss, model.zero_loss) if v is not None and v > 0]
    if not references:
        return None
    reference, first, last = max(references), loss.values[0], loss.values[-1]
    if first < BLOW_UP_RATIO * reference or first < BLOW_UP_RATIO * last:
        return None
    return RULE.finding(
        f"the first epoch's loss {first:.4g} is {first / reference:.3g}x what a constant "
        f"prediction costs ({reference:.4g}) and {first / last:.3g}x where the run ended "
        f"({last:.4g}): the first steps blew the weights up",
        evidence={
            "metric": "loss",
            "first": first,
            "last": last,
            "constant_prediction_loss": reference,
            "ratio": first / reference,
        },
        fixes=("lower-lr", "standardize"),
        directions=DOWN,
    )


def _find(history: TrainingHistory) -> Finding | None:
    for key in ("loss", "val_loss"):
        series = history.get(key)
        if series is None:
            continue
        bad_epoch = series.first_nonfinite_epoch()
        if bad_epoch is not None:
            value = series.values[series.epochs.index(bad_epoch)]
            return RULE.finding(
                f"{key} became {value} at epoch {bad_epoch}: training diverged",
                evidence={"metric": key, "epoch": bad_epoch, "value": value},
                fixes=("lower-lr", "standardize"),
                directions=DOWN,
            )
    loss = history.get("loss")
    if loss is None or len(loss) < 2 or loss.values[0] <= 0:
        return None
    first = loss.values[0]
    best = first
    for epoch, value in zip(loss.epochs[1:], loss.values[1:], strict=True):
        from_first = value / first
        from_best = value / best if best > 0 else math.inf
        if from_first >= BLOW_UP_RATIO:
            reference, ratio = first, from_first
        elif from_best >= BLOW_UP_FROM_BEST_RATIO and value >= first * NEAR_START:
            reference, ratio = best, from_best
        else:
            best = min(best, value)
            continue
        return RULE.finding(
            f"loss rose from {reference:.4g} to {value:.4g} ({ratio:.3g}x) by epoch {epoch}: "
            "training is blowing up",
            evidence={
                "metric": "loss",
                "first": first,
                "best_before": best,
                "peak": value,
                "peak_epoch": epoch,
                "ratio": ratio,
            },
            fixes=("lower-lr", "standardize"),
            directions=DOWN,
        )
    return None


def check(history: TrainingHistory, context: RuleContext) -> list[Finding]:
    finding = _find(history) or _first_epoch_blow_up(history, context)
    return [] if finding is None else [finding]


RULE = Rule(
    id="divergence",
    code="ADV104",
    severity=Severity.ERROR,
    summary="Loss becomes NaN/inf or blows up by orders of magnitude.",
    doc=__doc__ or "",
    check=check,
    # A diverged run's curves also rise, swing and stall: the divergence explains them all.
    supersedes=("overfitting", "plateau", "oscillation", "stalled", "underfitting"),
    # ... and leave it predicting one class: class weights cannot help before it trains.
    explains=("majority-class",),
)
