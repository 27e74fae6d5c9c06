"""Edits of ``compile``'s optimizer: learning rate, another optimizer, gradient clipping.

They all change one optimizer expression, written in the script's own terms: a string
(``"adam"``) becomes its class with the rate the advisor used, a constructor keeps its
arguments, and the loss and metrics stay as they were.
"""

from __future__ import annotations

from advisor.patch.draft import Draft, OptimizerDraft, initial_rate
from advisor.patch.source import literal
from advisor.plan_edits import ClipGradients, ReplaceOptimizer, ScaleLearningRate


def scale_learning_rate(edit: ScaleLearningRate, draft: Draft) -> None:
    optimizer = draft.edit_optimizer(edit)
    if optimizer is None:
        return
    if optimizer.learning_rate is None:
        schedule = optimizer.schedule
        if schedule is None or initial_rate(schedule) is None:
            draft.skip(
                edit,
                f"the learning rate is a schedule; multiply its initial value by {edit.factor:g}",
            )
            return
        optimizer.schedule_factor *= edit.factor  # the schedule's call is edited, not compile
        return
    optimizer.learning_rate *= edit.factor
    optimizer.rate_factor *= edit.factor
    optimizer.changed = True


def replace_optimizer(edit: ReplaceOptimizer, draft: Draft) -> None:
    if draft.compile is None:
        draft.skip(edit, "the script's compile call was not found")
        return
    name = str(edit.optimizer["class_name"])
    config = dict(edit.optimizer.get("config", {}))
    rate = config.pop("learning_rate", None)
    # Training scales whichever optimizer the plan ends with (and clips it): an edit of the
    # script's optimizer drafted before this one carries over to the new class.
    earlier = draft.optimizer
    factor = 1.0
    if earlier is not None and earlier.learning_rate and draft.facts.learning_rate:
        factor = earlier.learning_rate / draft.facts.learning_rate
    rate = float(rate) * factor if isinstance(rate, int | float) else None
    arguments = {k: literal(v) for k, v in config.items() if k != "name" and v is not None}
    if earlier is not None and "clipnorm" in earlier.arguments:
        arguments["clipnorm"] = earlier.arguments["clipnorm"]
    if rate is not None:
        arguments = {"learning_rate": literal(rate), **arguments}
    draft.optimizer_made_at = None  # another class: written into compile, not where it was made
    draft.optimizer = OptimizerDraft(
        name, draft.script.names.ref("optimizers", name), arguments, rate, changed=True
    )


def clip_gradients(edit: ClipGradients, draft: Draft) -> None:
    optimizer = draft.edit_optimizer(edit)
    if optimizer is not None:
        optimizer.arguments["clipnorm"] = literal(edit.clipnorm)
        optimizer.changed = True
