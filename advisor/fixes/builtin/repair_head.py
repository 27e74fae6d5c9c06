"""## What it does
Replaces the output layer (and, for classification, the loss) by the one the targets call for:
linear for regression, one sigmoid unit for two classes, k softmax units for k classes, one
sigmoid unit per label (with `binary_crossentropy`) for multi-label rows of 0/1 flags. A
classification head is repaired only when the labels are class indices from 0 or one-hot rows;
a classification loss compiled on measurements (numbers beyond 0..1 that are no class indices,
such as `load_diabetes`' 25..346) gets a linear head and `mse`.
A regression loss compiled on class labels by a script that classifies (accuracy metric or a
sigmoid/softmax output) gets the classification head and the loss the labels call for.
When the loss changes, baseline and fix are both scored with the repaired loss.

## Why it helps
A softmax over one unit always outputs 1, a sigmoid cannot reach a regression target of 40,
a loss on logits fed probabilities learns from the wrong gradient: no amount of training
repairs an output layer that cannot express the targets.

## Fix safety
Unsafe: the model's output layer changes, and so may the loss you compile with.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from advisor.arrays import is_several
from advisor.fix import Fix, FixKind, Param, Skipped
from advisor.fixes.builtin._shared import rewrites_layers
from advisor.model_facts import loss_kind, loss_name, summarise_targets
from advisor.plan import TrainingPlan
from advisor.plan_edits import ReplaceHead
from advisor.task import called_for_loss

ID: Final = "repair-head"
# The loss a regression compiled with a classification loss gets.
REGRESSION_LOSS: Final = "mse"
_LOSS_NAMES = {
    "binary": "binary_crossentropy",
    "sparse": "sparse_categorical_crossentropy",
    "categorical": "categorical_crossentropy",
}


def apply(plan: TrainingPlan, params: Mapping[str, Param]) -> TrainingPlan | Skipped:
    skipped = rewrites_layers(ID, plan)
    if skipped is not None:
        return skipped
    if is_several(plan.data.y_train):
        return Skipped(ID, "the model has several outputs; repair each head yourself")
    head = head_for_targets(plan.compile.loss, plan.data.y_train, called_for_loss(plan))
    if isinstance(head, str):
        return Skipped(ID, head)
    return plan.with_edits(head)


def head_for_targets(loss: Any, y: Any, called_for: str | None = None) -> ReplaceHead | str:
    """The head for ``loss`` and targets ``y``, or why the targets do not say which one;
    ``called_for``: the classification loss the labels call for instead of a regression
    ``loss`` (:func:`advisor.task.called_for_loss`), which then replaces it."""
    name = loss_name(loss)
    kind = loss_kind(called_for or name)
    if kind == "regression":
        return ReplaceHead(ID, activation="linear")
    if kind == "other":
        return f"the loss {name!r} is not one whose output layer the advisor knows"
    targets = summarise_targets(y)
    classes = targets.n_classes
    if targets.measurements:  # a regression compiled as a classifier
        return ReplaceHead(ID, "linear", loss=REGRESSION_LOSS)
    if targets.multi_hot and kind in ("binary", "categorical"):
        keep_loss = kind == "binary" and not getattr(loss, "from_logits", False)
        binary = None if keep_loss else _LOSS_NAMES["binary"]
        return ReplaceHead(ID, "sigmoid", targets.width, binary)
    if classes is None:
        return "the labels are neither class indices from 0 nor one-hot rows"
    wanted: tuple[str, str, int]
    if targets.one_hot:
        wanted = ("categorical", "softmax", classes)
    elif classes <= 2 and kind != "sparse":
        wanted = ("binary", "sigmoid", 1)
    else:
        wanted = ("sparse", "softmax", max(classes, 2))
    wanted_kind, activation, units = wanted
    keep_loss = (
        called_for is None and kind == wanted_kind and not getattr(loss, "from_logits", False)
    )
    return ReplaceHead(ID, activation, units, None if keep_loss else _LOSS_NAMES[wanted_kind])


FIX = Fix(
    id=ID,
    kind=FixKind.HEAD,
    summary=(
        "output layer (and for classification the loss) the targets call for: linear for "
        "regression, one sigmoid unit for two classes, k softmax units for k; a classification "
        "head only when the labels are class indices or one-hot rows, also in place of a "
        "regression loss compiled on them by a classifier. When the loss changes, baseline "
        "and fix are both scored with the repaired loss"
    ),
    doc=__doc__ or "",
    apply=apply,
    safety="unsafe",
)
