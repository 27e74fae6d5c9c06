"""## What it detects
A training metric (accuracy, AUC, MAE...) that holds exactly the same value in every epoch
while the loss moves: the model's predictions change, but never in a way the metric sees.

## Why it matters
A metric that never moves from the first epoch on usually means the model gives the same
answer for every input: a one-unit softmax that always outputs 1.0, a head that can never
cross the decision threshold, or labels that do not mean what the loss thinks they mean. The
falling loss makes the run look healthy; the metric, which is what the model is for, says it
learns nothing.

## Evidence
Every logged value of a training metric (not `val_*`, not the learning rate: only names Keras
reads as scores or errors) lies within 1e-6 of its first value relative to its size
(`FROZEN_TOLERANCE`), over at least 5 epochs (`MIN_EPOCHS`), while the training `loss` spans at
least 10 % of its largest value (`MIN_LOSS_CHANGE`). Stalled runs, whose loss does not move,
are the stalled rule's. The validation counterpart is reported in the evidence when logged.

## Fix
`repair-head`: most often the output layer cannot express the labels (see `output-activation`
and `loss-targets`, which supersede this rule when they can read the model). If the head fits,
check that the metric suits the labels (e.g. `sparse_categorical_accuracy` for integer labels).

**Fix safety:** the repaired head is retrained and compared on the holdout before it is
recommended; a head that already fits is left as it is.
"""

from __future__ import annotations

from advisor.findings import Finding, Severity
from advisor.history import VALIDATION_PREFIX, TrainingHistory
from advisor.metric_names import mode_of
from advisor.rule import Rule, RuleContext

FROZEN_TOLERANCE = 1e-6
MIN_EPOCHS = 5
MIN_LOSS_CHANGE = 0.10


def _frozen(values: tuple[float, ...]) -> bool:
    first = values[0]
    return all(abs(v - first) <= FROZEN_TOLERANCE * max(abs(first), 1.0) for v in values)


def check(history: TrainingHistory, context: RuleContext) -> list[Finding]:
    loss = history.get("loss")
    if loss is None or len(loss) < MIN_EPOCHS or not loss.all_finite:
        return []
    high = max(loss.values)
    change = (high - min(loss.values)) / high if high > 0 else 0.0
    if change < MIN_LOSS_CHANGE:
        return []
    findings = []
    for name in history.metric_names:
        series = history.series[name]
        if (
            name == "loss"
            or mode_of(name) is None
            or len(series) < MIN_EPOCHS
            or not _frozen(series.values)
        ):
            continue
        val = history.get(VALIDATION_PREFIX + name)
        val_frozen = val is not None and _frozen(val.values)
        also = f" (val_{name} at {val.values[0]:.4g})" if val is not None and val_frozen else ""
        findings.append(
            RULE.finding(
                f"{name} stayed at {series.values[0]:.4g} in all {len(series)} epochs{also}"
                + f" while loss went from {loss.values[0]:.4g} to {loss.values[-1]:.4g}: the "
                "predictions never change where the metric looks",
                evidence={
                    "metric": name,
                    "value": series.values[0],
                    "epochs": len(series),
                    "val_frozen": val_frozen,
                    "loss_first": loss.values[0],
                    "loss_last": loss.values[-1],
                    "loss_change": change,
                },
                fixes=("repair-head",),
            )
        )
    return findings


RULE = Rule(
    id="frozen-metric",
    code="ADV107",
    severity=Severity.WARNING,
    summary="A metric holds one value in every epoch while the loss moves.",
    doc=__doc__ or "",
    check=check,
)
