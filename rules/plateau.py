"""## What it detects
Validation loss that stopped improving long before training stopped: for the last stretch of
the run (many epochs, and a large share of the run) `val_loss` neither got meaningfully better
nor clearly worse.

## Why it matters
Those epochs cost time and buy nothing. The optimiser is circling a minimum its step size
cannot descend into, or the model has learnt what it can: a smaller learning rate may still
gain, and if not, the run should simply stop earlier.

## Evidence
`val_loss` is smoothed (centred moving average, at most five points), then the rule finds the
epoch from which it never again gained more than `min_delta` = 1 % of its best so far
(`MIN_DELTA`). Unlike Keras' step-by-step `EarlyStopping` count, a slow creep that adds up to
1 % only over a hundred epochs does not reset the count. The rule fires when that stall lasts
at least 10 epochs (`MIN_PATIENCE`) and at least 40 % of the run (`MIN_IDLE_SHARE`), and
`val_loss` ended less than 7 % above its best (`MAX_RISE`): a curve that climbs back up is not
flat, it is overfitting. Stalled and diverged runs are left to those rules, which supersede
this one, so one curve gets one diagnosis. A multi-output model is judged as a whole and head
by head (`val_<head>_loss`, evidence `head`).

## Fix
`lr-decay`: `ReduceLROnPlateau(monitor="val_loss", mode="min", factor=0.5, patience=5)` lets
the optimiser take smaller steps once progress stalls. `early-stopping` with the same
`monitor` and a `patience` of about 10 stops the run when nothing more comes.

**Fix safety:** both only act once validation has stalled, so they never slow a run that is
still improving; early stopping with `restore_best_weights=True` cannot lose the best model.
"""

from __future__ import annotations

from advisor.findings import Finding, Severity
from advisor.history import TrainingHistory
from advisor.rule import Rule, RuleContext
from rules import _series

# Keras' min_delta, made relative: a gain counts when it beats the best so far by 1 % of it.
MIN_DELTA = 0.01
MIN_PATIENCE = 10
# Calibrated on fixtures/histories/corpus: healthy runs stall for at most 32 % of their epochs
# (an EarlyStopping run whose val_loss crept < 1 % over its last 24 epochs); plateau runs for at
# least 45 %. Re-recordings with other seeds put borderline runs between 0.36 and 0.43 on both
# sides (a healthy run given twice the epochs it needed, a plateau that still creeps).
MIN_IDLE_SHARE = 0.40
# Plateau runs end at most 2.5 % above their smoothed val_loss minimum and overfitting runs at
# least 8.2 % above it (the same corpus measurement as the overfitting rule's MIN_RISE).
MAX_RISE = 0.07


def measure(curves: _series.LossCurves, n_epochs: int) -> dict[str, float | int]:
    """The numbers the judgement rests on, for the whole model's curves or one head's."""
    val = curves.val
    smoothed = _series.smooth(val.values, _series.window_for(len(val)))
    last = _series.start_of_stall(smoothed, MIN_DELTA)
    best = _series.argmin(smoothed)
    idle = n_epochs - val.epochs[last]
    return {
        "stalled_since_epoch": val.epochs[last],
        "val_loss_at_stall": val.values[last],
        "val_loss_last": val.values[-1],
        "epochs_without_improvement": idle,
        "idle_share": idle / n_epochs,
        "change_since": -_series.relative_drop(smoothed[last], smoothed[-1]),
        "rise_above_best": -_series.relative_drop(smoothed[best], smoothed[-1]),
    }


def _judge(curves: _series.LossCurves, history: TrainingHistory) -> Finding | None:
    evidence = measure(curves, history.n_epochs)
    if (
        evidence["epochs_without_improvement"] < MIN_PATIENCE
        or evidence["idle_share"] < MIN_IDLE_SHARE
        or evidence["rise_above_best"] >= MAX_RISE
    ):
        return None
    return RULE.finding(
        f"{curves.label}{curves.val_name} has not improved by more than {MIN_DELTA:.0%} since "
        f"epoch {evidence['stalled_since_epoch']} ({evidence['val_loss_at_stall']:.4g}"
        f"): {evidence['epochs_without_improvement']} of {history.n_epochs} epochs without "
        f"progress, ending at {evidence['val_loss_last']:.4g} "
        f"({evidence['change_since']:+.1%})",
        evidence={
            "monitor": curves.val_name,
            "mode": "min",
            "min_delta": MIN_DELTA,
            "patience": MIN_PATIENCE,
            **curves.evidence,
            **evidence,
        },
        fixes=("lr-decay", "early-stopping"),
    )


def check(history: TrainingHistory, context: RuleContext) -> list[Finding]:
    return _series.per_head(lambda curves: _judge(curves, history), history)


RULE = Rule(
    id="plateau",
    code="ADV102",
    severity=Severity.WARNING,
    summary="Validation loss stops improving for many epochs while training goes on.",
    doc=__doc__ or "",
    check=check,
)
