"""## What it detects
A classifier (or one classification head of a multi-output model) whose training accuracy
equals the share of the most frequent class: it predicts the majority class for every sample.
With balanced classes that share is 1/k, and the head is at chance.

## Why it matters
An accuracy of 0.9 looks good until one learns that nine samples in ten are of one class: the
model has learnt nothing but the prior, and it never recognises the classes that usually
matter (the fraud, the disease, the defect). The loss falls a little as the output learns the
class frequencies, so the curves can look healthy.

## Evidence
The last 3 logged values (`MIN_EPOCHS`) of the head's training accuracy metric (`accuracy`,
`binary_accuracy`, `<head>_accuracy`, ...; not top-k) all lie within noise of the majority
share of the training labels: one binomial standard deviation `sqrt(p (1 - p) / n)`, at least
0.005 (`MIN_TOLERANCE`). A model that predicts only the majority class scores that share
exactly; one that learnt anything scores more. The classes are called imbalanced when the
majority share is at least 1.25 / k (`IMBALANCE_FACTOR`, k the classes present).

## Fix
`class-weight` when the classes are imbalanced: `fit(..., class_weight={c: n / (k * n_c)})`
weighs each class inversely to its frequency (scikit-learn's `"balanced"` weights), so that
predicting the majority stops being the cheapest answer. With balanced classes the head is at
chance instead, and no class weight can help: see the `stalled` rule's causes (learning rate,
input scale).

**Fix safety:** class weights trade majority-class accuracy for minority-class recall; plain
accuracy may fall while the model becomes useful. The advisor retrains and compares.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from advisor.findings import Finding, Severity
from advisor.history import TrainingHistory
from advisor.metric_names import mode_of
from advisor.rule import Rule, RuleContext

if TYPE_CHECKING:  # names only: the targets are measured by diagnose, never by `check`
    from advisor.head_targets import HeadTargets

MIN_EPOCHS = 3
MIN_TOLERANCE = 0.005
IMBALANCE_FACTOR = 1.25


def _accuracy_name(history: TrainingHistory, head: str | None) -> str | None:
    """The head's training accuracy metric: ``<head>_...accuracy`` for a named head."""
    prefix = "" if head is None else f"{head}_"
    for name in history.metric_names:
        if (
            name.startswith(prefix)
            and "acc" in name[len(prefix) :]
            and "top_k" not in name
            and mode_of(name) == "max"
        ):
            return name
    return None


def _judge(history: TrainingHistory, head: HeadTargets) -> Finding | None:
    share = head.majority_share
    classes = sum(1 for n in head.train_counts if n)
    name = _accuracy_name(history, head.name)
    if share is None or classes < 2 or name is None:
        return None
    accuracy = history.series[name]
    tail = accuracy.values[-MIN_EPOCHS:]
    tolerance = max(MIN_TOLERANCE, math.sqrt(share * (1 - share) / head.n_train))
    if len(tail) < MIN_EPOCHS or any(abs(v - share) > tolerance for v in tail):
        return None
    majority = head.train_counts.index(max(head.train_counts))
    imbalanced = share >= IMBALANCE_FACTOR / classes
    what = (
        f"the share of its majority class {majority}: it predicts that class for every sample"
        if imbalanced
        else f"chance for {classes} balanced classes: it has learnt nothing"
    )
    return RULE.finding(
        f"{head.label}{name} ended at {tail[-1]:.4g}, within noise ({tolerance:.2g}) of "
        f"{share:.4g}, {what}",
        evidence={
            **({} if head.name is None else {"head": head.name}),
            "metric": name,
            "accuracy_last": tail[-1],
            "majority_class": majority,
            "majority_share": share,
            "tolerance": tolerance,
            "n_classes": classes,
            "imbalanced": imbalanced,
        },
        fixes=("class-weight",) if imbalanced else (),
    )


def check(history: TrainingHistory, context: RuleContext) -> list[Finding]:
    if context.data is None:
        return []
    judged = (_judge(history, head) for head in context.data.heads)
    return [finding for finding in judged if finding is not None]


RULE = Rule(
    id="majority-class",
    code="ADV205",
    severity=Severity.WARNING,
    summary="A classifier's accuracy equals the majority class share: it predicts one class.",
    doc=__doc__ or "",
    check=check,
    needs_data=True,
)
