"""What task a run trains for, from its loss and targets: the one place that infers it.

Binary, multi-class or regression, and the number of classes: the chance-level rules, the
head repair and the report all read this, so they cannot disagree (a plain-function loss such
as ``keras.losses.sparse_categorical_crossentropy`` is named by its function name). A plan
whose regression loss is compiled on class labels by a script that classifies (see
:func:`advisor.model_facts.labels_loss`) trains for the classes: :func:`plan_task` reads the
loss the labels call for, not the compiled one. No Keras.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from advisor.arrays import is_several
from advisor.model_facts import labels_loss, loss_kind, loss_name, metric_names, summarise_targets
from advisor.plan import TrainingPlan

TaskKind = Literal["binary", "multi-class", "regression", "unknown"]


@dataclass(frozen=True)
class Task:
    """The kind of task, and its number of classes (None unless classification with one
    head whose classes the targets say)."""

    kind: TaskKind
    n_classes: int | None = None


def infer_task(loss: Any, y: Any) -> Task:
    """The task of a model compiled with ``loss`` and trained on targets ``y``."""
    kind = loss_kind(loss_name(loss))
    if kind == "regression":
        return Task("regression")
    if kind == "binary":
        return Task("binary", 2)
    if kind == "other":
        return Task("unknown")
    if is_several(y):
        return Task("multi-class")  # several heads: no single chance level
    targets = np.asarray(y)
    if kind == "sparse":
        finite = targets[np.isfinite(targets)] if targets.dtype.kind == "f" else targets
        return Task("multi-class", int(np.max(finite)) + 1 if finite.size else None)
    return Task("multi-class", int(targets.shape[-1]))


def called_for_loss(plan: TrainingPlan) -> str | None:
    """The classification loss the plan's labels call for when its compiled loss is a
    regression loss on them (a fault, ``loss-targets``); None when the compiled loss is not."""
    y = plan.data.y_train
    if is_several(y):
        return None
    return labels_loss(
        loss_name(plan.compile.loss),
        summarise_targets(y),
        output_activation=plan.model.output_activation,
        metric_names=metric_names(plan.compile.metrics),
    )


def plan_task(plan: TrainingPlan, y: Any = None) -> Task:
    """The task of ``plan`` (on targets ``y``, its training targets by default), read from
    the loss its labels call for when the compiled one is a regression loss on classes."""
    return infer_task(
        called_for_loss(plan) or plan.compile.loss, plan.data.y_train if y is None else y
    )
