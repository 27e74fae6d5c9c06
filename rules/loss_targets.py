"""## What it detects
A loss that does not match the labels: `binary_crossentropy` on labels with more than two
classes, `sparse_categorical_crossentropy` on one-hot rows or `categorical_crossentropy` on
integer labels (the two swapped), `categorical_crossentropy` on multi-label rows (0/1 flags,
several set in a row or none), a classification output whose unit count differs from the
number of classes the labels name, and a regression loss (MSE, MAE, Huber...) compiled
on class labels by a script that classifies: an accuracy-family metric (accuracy, AUC,
precision, recall) or a sigmoid/softmax output. And the reverse: a classification loss
compiled on measurements (numbers beyond 0..1 that are neither class indices from 0 nor
one-hot rows, such as `load_diabetes`' scores of 25..346 under `binary_crossentropy`). Read
from the compile arguments, the output layer and the training targets; no training is needed.

## Why it matters
Keras trains on some of these without complaint. Binary cross-entropy on labels 0, 1, 2
treats every label above 1 as an impossible probability and reports an accuracy that means
nothing; an output with fewer units than classes can never predict the missing ones. The
numbers in the history look like training; the model learns the wrong task. A regression
loss on 0/1 labels gives a weak gradient or none (MAE through a saturated output), and a
fix judged by it would be judged by the very fault it removes. The swapped
losses make Keras stop with a shape error instead: `advisor diagnose` then names this finding
in its one-line error, since the model rules need no training.

## Evidence
The loss family (from its Keras name), the targets' distinct values, whether they are one-hot
rows, the class count they imply (`max + 1`, or the one-hot width) and the output units. For
a regression loss the targets must be one-hot rows or integer indices 0..k-1 with every index
present and k at most `MAX_LABEL_CLASSES` (in `advisor.model_facts`), and the compiled
metrics or the output activation must say the script classifies: a regression on integer
targets without them is not flagged. A finding from this rule explains a stalled loss or a
frozen metric, and an output range that misses labels the loss misreads: it supersedes those
rules and `output-activation`.

## Fix
`repair-head`: the loss and output layer the labels call for: `sparse_categorical_crossentropy`
with a k-unit softmax for integer labels, `categorical_crossentropy` for one-hot rows,
`binary_crossentropy` with one sigmoid unit for two classes, and with one sigmoid unit per
label for multi-label rows; for a regression loss on labels
the same, the compiled loss replaced.

**Fix safety:** when the loss changes, baseline and fix are both scored with the repaired loss
on their predictions, so the comparison uses one yardstick. On a regression loss compiled on
labels, that is the cross-entropy the labels call for, on predictions clipped to
[1e-7, 1 - 1e-7]: the compiled loss is the fault and does not judge its own repair.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.findings import Finding, Severity
from advisor.history import TrainingHistory
from advisor.rule import Rule, RuleContext

if TYPE_CHECKING:
    from advisor.model_facts import ModelProfile

# Binary cross-entropy reads one probability per output: labels beyond 0/1 make no sense to it.
MAX_BINARY_CLASSES = 2


def _problem(model: ModelProfile) -> str | None:
    kind, targets = model.loss_kind, model.targets
    wanted = model.labels_loss
    if wanted is not None:
        return (
            f"the compiled loss {model.loss_name} is a regression loss, but the targets are "
            f"{_labels(model)} and the script classifies ({_intent(model)}): the labels call "
            f"for {wanted}"
        )
    classes = targets.n_classes
    if kind in ("binary", "sparse", "categorical") and targets.measurements:
        return (
            f"{model.loss_name} is a classification loss, but the targets are measurements "
            f"({targets.minimum:.4g}..{targets.maximum:.4g}, {targets.n_distinct} distinct "
            "values): a regression loss (mse) fits them"
        )
    if kind == "binary" and classes is not None and classes > MAX_BINARY_CLASSES:
        return f"{model.loss_name} is for two classes, but the labels name {classes}"
    if kind == "categorical" and targets.multi_hot:
        return (
            f"{model.loss_name} reads each target row as one class, but the rows flag several "
            f"of {targets.width} labels (or none): multi-label targets call for "
            "binary_crossentropy over sigmoid units"
        )
    if kind == "sparse" and targets.one_hot:
        return (
            f"{model.loss_name} expects integer class labels, but the targets are one-hot rows "
            "(use categorical_crossentropy)"
        )
    if kind == "categorical" and not targets.one_hot and targets.width == 1:
        return (
            f"{model.loss_name} expects one-hot rows, but the targets are integer labels "
            "(use sparse_categorical_crossentropy)"
        )
    units = model.output_units
    if kind in ("sparse", "categorical") and classes and units and units != classes:
        return f"the output has {units} unit(s), but the labels name {classes} classes"
    return None


def _intent(model: ModelProfile) -> str:
    # Imported here: model_facts loads NumPy, which `advisor check` (history rules) never needs.
    from advisor.model_facts import PROBABILITY_HEADS

    if model.output_activation in PROBABILITY_HEADS:
        return f"a {model.output_activation} output"
    return "metrics " + ", ".join(model.metric_names)


def _labels(model: ModelProfile) -> str:
    targets = model.targets
    if targets.one_hot:
        return f"one-hot rows of {targets.n_classes} classes"
    return f"class labels 0..{targets.n_classes - 1 if targets.n_classes else 0}"


def check(history: TrainingHistory, context: RuleContext) -> list[Finding]:
    model = context.model
    problem = None if model is None else _problem(model)
    if model is None or problem is None:
        return []
    return [
        RULE.finding(
            f"{problem}: the loss reads the labels as something they are not",
            evidence={
                "loss": model.loss_name,
                "n_classes": model.targets.n_classes,
                "one_hot": model.targets.one_hot,
                "multi_hot": model.targets.multi_hot,
                "n_distinct": model.targets.n_distinct,
                "units": model.output_units,
                "called_for": model.labels_loss,
            },
            fixes=("repair-head",),
        )
    ]


RULE = Rule(
    id="loss-targets",
    code="ADV302",
    severity=Severity.ERROR,
    summary="Loss does not fit the labels (binary loss on k classes, sparse/one-hot swapped).",
    doc=__doc__ or "",
    check=check,
    needs_model=True,
    supersedes=("stalled", "frozen-metric", "output-activation"),
)
