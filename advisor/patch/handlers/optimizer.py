"""Edits of ``compile``'s optimizer: learning rate, another optimizer, gradient clipping.

They all change one optimizer expression, written in the script's own terms: a string
(``"adam"``) becomes its class with the rate the advisor used, a constructor keeps its
arguments, and the loss and metrics stay as they were.
"""

from __future__ import annotations

from advisor.patch.draft import Draft, OptimizerDraft
from advisor.patch.source import literal
from advisor.plan_edits import ClipGradients, ReplaceOptimizer, ScaleLearningRate


def scale_learning_rate(edit: ScaleLearningRate, draft: Draft) -> None:
    optimizer = draft.edit_optimizer(edit)
    if optimizer is None:
        return
    if optimizer.learning_rate is None:
        draft.skip(
            edit, f"the learning rate is a schedule; multiply its initial value by {edit.factor:g}"
        )
        return
    optimizer.learning_rate *= edit.factor
    optimizer.arguments["learning_rate"] = literal(optimizer.learning_rate)


def replace_optimizer(edit: ReplaceOptimizer, draft: Draft) -> None:
    if draft.compile is None:
        draft.skip(edit, "the script's compile call was not found")
        return
    name = str(edit.optimizer["class_name"])
    config = dict(edit.optimizer.get("config", {}))
    rate = config.pop("learning_rate", None)
    arguments = {k: literal(v) for k, v in config.items() if k != "name" and v is not None}
    if isinstance(rate, int | float):
        arguments = {"learning_rate": literal(float(rate)), **arguments}
    draft.optimizer = OptimizerDraft(
        name,
        draft.script.names.ref("optimizers", name),
        arguments,
        float(rate) if isinstance(rate, int | float) else None,
    )


def clip_gradients(edit: ClipGradients, draft: Draft) -> None:
    optimizer = draft.edit_optimizer(edit)
    if optimizer is not None:
        optimizer.arguments["clipnorm"] = literal(edit.clipnorm)
