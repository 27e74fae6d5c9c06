"""## What it detects
A metric function of the script's own (`metrics=[rmse]`) whose value depends on broadcasting:
the targets are one value per row, shape `(n,)`, the model has one output unit, shape `(n, 1)`,
and the function computes something like `y_true - y_pred` without aligning the two. Read from
the compile arguments and a few training targets; no training is needed.

## Why it matters
Keras aligns `(n,)` targets with `(n, 1)` outputs before a loss function sees them, but passes
them to a metric function as they are. `y_true - y_pred` is then an `(n, n)` matrix of every
target against every prediction, and the metric measures how far each prediction is from the
batch's other targets: a model that predicts the mean scores better than one that predicts each
row right. The loss trains correctly, so the run looks normal while the number the script
reports (and compares runs by) means nothing.

## Evidence
Each metric function is called on the first training targets (`SAMPLE_ROWS`, in
`advisor.capture.metric_shapes`), shaped as `fit` passes them, and distinct predictions of
shape `(n, 1)`. A broadcast metric does not care which prediction belongs to which target:
its value stays (within a relative `RELATIVE_TOLERANCE`) when the predictions are shifted by
one row, and it changes when the targets are given the output's shape. A metric that
squeezes the outputs itself depends on the pairing and is not named; Keras' own metrics align
the ranks first and always give one value.

## Fix
No fix of the catalogue: give the targets the output's shape (`y.reshape(-1, 1)` for training
and validation alike), or align them inside the function (`y_true = ops.reshape(y_true,
ops.shape(y_pred))`). The advisor's own comparisons judge by the loss, which Keras aligns; a
metric named here is reported as Keras computes it, for your plan and for any fix alike, but
it never vetoes the claim "improved" (`advisor.fixes.claims`): a model that stops predicting
the mean scores worse on it.
"""

from __future__ import annotations

from advisor.findings import Finding, Severity
from advisor.history import TrainingHistory
from advisor.rule import Rule, RuleContext


def check(history: TrainingHistory, context: RuleContext) -> list[Finding]:
    model = context.model
    if model is None or not model.broadcasting_metrics:
        return []
    names = ", ".join(f"'{name}'" for name in model.broadcasting_metrics)
    return [
        RULE.finding(
            f"metric {names} compares targets of shape (n,) with outputs of shape (n, 1) "
            "without aligning them: Keras passes a metric function both as they are, so "
            "y_true - y_pred is an (n, n) matrix of every target against every prediction and "
            "the logged value is not the model's error",
            evidence={"metrics": list(model.broadcasting_metrics)},
        )
    ]


RULE = Rule(
    id="metric-broadcast",
    code="ADV304",
    severity=Severity.WARNING,
    summary="A metric function broadcasts (n,) targets against (n, 1) outputs.",
    doc=__doc__ or "",
    check=check,
    needs_model=True,
)
