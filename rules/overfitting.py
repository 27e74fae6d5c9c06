"""## What it detects
Validation loss that turned upward and stayed up while the training loss kept falling: the
model keeps fitting the training set and gets worse on data it does not train on.

## Why it matters
Every epoch after the validation minimum makes the model you would deploy worse, and the last
weights Keras leaves you are not the best ones it saw. The growing train/validation gap means
the model memorises the training samples (their noise included) instead of the pattern.

## Evidence
`val_loss` is smoothed (centred moving average over about a tenth of the run, at most five
points) so that one noisy validation epoch neither makes nor hides a minimum. The rule measures
the *rise*: how far the smoothed `val_loss` at the end sits above its smoothed minimum, relative
to that minimum, and fires when the rise is at least 7 % (`MIN_RISE`), the minimum lies at
least 3 epochs before the end (`MIN_EPOCHS_SINCE_BEST`), and the training loss fell by at least
10 % (`MIN_TRAIN_DROP`) since the minimum's epoch. A multi-output model is judged as a whole
and head by head (`<head>_loss`, `val_<head>_loss`): a head that overfits while the others
still learn is named (evidence `head`). Works with `validation_freq > 1`: epochs
come from the log. Diverged, oscillating and stalled runs are left to those rules, which
supersede this one: a too-large step drags `val_loss` up as well, and lowering it is the fix
there.

## Fix
`early-stopping`: `EarlyStopping(monitor="val_loss", mode="min", patience=...,
restore_best_weights=True)` keeps the weights of the best epoch. Then regularise: `dropout`
between the dense layers, an `l2` kernel penalty, or `elastic-net` (L1 beside L2); each shrinks
the gap at its source, and the advisor trains each and keeps the one the selection data
prefers. When the inputs are images (the advisor saw the data), `augment` is named as well: it
shows the model shifted, rotated and zoomed copies of its training images.

**Fix safety:** early stopping never makes the returned model worse on validation; dropout and
L2 change the model and can underfit if set too strong, so the advisor retrains and compares.
"""

from __future__ import annotations

from advisor.findings import Finding, Severity
from advisor.history import TrainingHistory
from advisor.rule import Rule, RuleContext
from rules import _series

# Calibrated on fixtures/histories/corpus and a re-recording of it with other seeds: healthy runs
# end at most 3.2 % above their smoothed val_loss minimum, plateau runs 2.5 %; overfitting runs
# at least 8.2 % above it (mild) and up to 900 %.
MIN_RISE = 0.07
MIN_EPOCHS_SINCE_BEST = 3
# "Train keeps improving": the training loss fell this much (relative) after the val minimum.
MIN_TRAIN_DROP = 0.10


def measure(curves: _series.LossCurves, n_epochs: int) -> dict[str, float | int]:
    """The numbers the judgement rests on, for the whole model's curves or one head's."""
    train, val = curves.train, curves.val
    smoothed = _series.smooth(val.values, _series.window_for(len(val)))
    best = _series.argmin(smoothed)
    best_epoch = val.epochs[best]
    train_at_best = _series.value_at(train, best_epoch)
    return {
        "monitor_best_epoch": best_epoch,
        "val_loss_at_best": val.values[best],
        "val_loss_last": val.values[-1],
        "rise": -_series.relative_drop(smoothed[best], smoothed[-1]),
        "epochs_since_best": n_epochs - best_epoch,
        "loss_at_best": train_at_best,
        "loss_last": train.values[-1],
        "train_drop": _series.relative_drop(train_at_best, train.values[-1]),
    }


REGULARISERS = ("early-stopping", "dropout", "l2", "elastic-net")


def _images(context: RuleContext) -> bool:
    """Augmentation is named only when the advisor saw the inputs and they are images."""
    return context.data is not None and context.data.input_kind == "image"


def _judge(
    curves: _series.LossCurves, history: TrainingHistory, context: RuleContext
) -> Finding | None:
    evidence = measure(curves, history.n_epochs)
    if (
        evidence["rise"] < MIN_RISE
        or evidence["epochs_since_best"] < MIN_EPOCHS_SINCE_BEST
        or evidence["train_drop"] < MIN_TRAIN_DROP
    ):
        return None
    return RULE.finding(
        f"{curves.label}{curves.val_name} bottomed out around epoch "
        f"{evidence['monitor_best_epoch']} ({evidence['val_loss_at_best']:.4g}) and ended at "
        f"{evidence['val_loss_last']:.4g} (+{evidence['rise']:.0%}) "
        f"{evidence['epochs_since_best']} epochs later, while {curves.train_name} kept falling "
        f"from {evidence['loss_at_best']:.4g} to {evidence['loss_last']:.4g}",
        evidence={"monitor": curves.val_name, "mode": "min", **curves.evidence, **evidence},
        fixes=REGULARISERS + (("augment",) if _images(context) else ()),
    )


def check(history: TrainingHistory, context: RuleContext) -> list[Finding]:
    return _series.per_head(lambda curves: _judge(curves, history, context), history)


RULE = Rule(
    id="overfitting",
    code="ADV101",
    severity=Severity.WARNING,
    summary="Validation loss turns worse while training loss keeps improving.",
    doc=__doc__ or "",
    check=check,
)
