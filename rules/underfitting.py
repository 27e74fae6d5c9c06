"""## What it detects
A run stopped while the model was still learning fast: training *and* validation loss were
both still falling steeply in the last epochs, and validation was at its best at the very end.

## Why it matters
The model you keep is worse than the same model trained a little longer: it has not yet fitted
even the training data, so there is nothing to regularise and no overfitting to fear yet.
Stopping here leaves accuracy on the table, or makes a model look too small when it only
needed more epochs (or a capacity it could use).

## Evidence
Both curves are smoothed (centred moving average, at most five points). For each, the rule
measures the *tail share*: the part of the whole run's improvement (first epoch to last) made
in the last quarter of the epochs (at least 3, `TAIL_FRACTION`). A converged curve made almost
all of its gain early (share near 0); a curve cut off while falling straight makes about a
quarter. The rule fires when both shares are at least 5.5 % (`MIN_TAIL_SHARE`) and the lowest
smoothed `val_loss` is the last one. Stalled and diverged runs are left to their own rules,
which supersede this one. A multi-output model is judged as a whole and head by head
(`val_<head>_loss`, evidence `head`).

## Fix
`train-longer`: raise `epochs` (about double), with `EarlyStopping(monitor="val_loss",
patience=10, restore_best_weights=True)` so the longer run stops by itself once validation
stops improving. If the training loss itself stays high, `bigger-model`: more units per layer.
When the probe saw steps too small for gradients that are there (no layer's weights moving 2 %
per epoch, `MAX_TINY_UPDATE`, while some layer's gradient is at least 5 % of its weights,
`MIN_ALIVE_GRADIENT`), `lower-lr` comes first with its factor searched above 1: a larger
learning rate gets there within your epochs. `less-regularisation` weakens your own Dropout
and kernel penalties, first when a Dropout rate is 0.5 or more (`HEAVY_DROPOUT`).

**Fix safety:** training longer with early stopping cannot return a worse model on validation;
a bigger model can overfit, so the advisor retrains and compares before recommending it.
"""

from __future__ import annotations

from advisor.findings import Finding, Severity
from advisor.history import TrainingHistory
from advisor.rule import Rule, RuleContext
from rules import _probe, _regularisation, _series

TAIL_FRACTION = 0.25
MIN_TAIL_EPOCHS = 3
# Calibrated on fixtures/histories/corpus and a re-recording of it with other seeds: healthy
# runs make at most 3.4 % of their gain (loss or val_loss) in the last quarter; underfitting
# runs at least 7.3 %, mild ones included. 5.5 % sits between, nearer neither.
MIN_TAIL_SHARE = 0.055


def measure(curves: _series.LossCurves, n_epochs: int) -> dict[str, float | int] | None:
    """Tail shares of both curves (the whole model's or one head's), or None when the run
    cannot show underfitting."""
    train, val = curves.train, curves.val
    shares = []
    for series in (train, val):
        smoothed = _series.smooth(series.values, _series.window_for(len(series)))
        start = _series.tail_start(series.epochs, n_epochs, TAIL_FRACTION, MIN_TAIL_EPOCHS)
        if start == 0:
            return None
        shares.append(_series.share_of_gain_in_tail(smoothed, start))
        if series is val and _series.argmin(smoothed) != len(smoothed) - 1:
            return None
    start = _series.tail_start(train.epochs, n_epochs, TAIL_FRACTION, MIN_TAIL_EPOCHS)
    return {
        "tail_from_epoch": train.epochs[start],
        "loss_tail_start": train.values[start],
        "loss_last": train.values[-1],
        "val_loss_tail_start": _series.value_at(val, train.epochs[start]),
        "val_loss_last": val.values[-1],
        "loss_tail_share": shares[0],
        "val_loss_tail_share": shares[1],
    }


def _judge(
    curves: _series.LossCurves, history: TrainingHistory, context: RuleContext
) -> Finding | None:
    evidence = measure(curves, history.n_epochs)
    if (
        evidence is None
        or evidence["val_loss_tail_share"] < MIN_TAIL_SHARE
        or evidence["loss_tail_share"] < MIN_TAIL_SHARE
    ):
        return None
    # Steps too small for live gradients: a larger learning rate gets there in the same epochs.
    tiny = _probe.tiny_updates(context.probe)
    faster: tuple[str, ...] = ("lower-lr",) if tiny else ()
    fixes = (*faster, "train-longer", "bigger-model")
    steps = _probe.too_small_steps(tiny)
    return RULE.finding(
        f"{curves.label}{curves.train_name} and {curves.val_name} were still falling when "
        f"training stopped at epoch {history.n_epochs}: from epoch "
        f"{evidence['tail_from_epoch']} {curves.train_name} went "
        f"{evidence['loss_tail_start']:.4g} -> {evidence['loss_last']:.4g} and "
        f"{curves.val_name} {evidence['val_loss_tail_start']:.4g} -> "
        f"{evidence['val_loss_last']:.4g} ({evidence['val_loss_tail_share']:.0%} of its whole "
        f"gain in the last {history.n_epochs - evidence['tail_from_epoch'] + 1} epochs){steps}",
        evidence={
            "monitor": curves.val_name, "mode": "min", **curves.evidence, **evidence,
            **(tiny or {}),
        },
        fixes=_regularisation.with_less_regularisation(fixes, context),
        directions={"lower-lr": "up"} if tiny else {},
    )


def check(history: TrainingHistory, context: RuleContext) -> list[Finding]:
    return _series.per_head(lambda curves: _judge(curves, history, context), history)


RULE = Rule(
    id="underfitting",
    code="ADV106",
    severity=Severity.WARNING,
    summary="Training and validation loss still falling steeply when training stopped.",
    doc=__doc__ or "",
    check=check,
)
