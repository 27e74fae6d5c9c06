"""## What it does
Puts a `Normalization` layer in front of the model, adapted on the training inputs: per column
of a table, per channel of an image, per feature of a sequence, per input of a multi-input
model. Token ids and strings are never scaled.

## Why it helps
Features on very different scales make the loss surface a narrow valley: one learning rate is
too large for some weights and too small for others. Inputs with mean 0 and variance 1 give
every weight a similar scale of gradient.

## Fix safety
Unsafe: the model handed out computes on standardised inputs. The layer is inside it, so it
still takes your raw inputs, and saves and loads with plain Keras.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from advisor.fix import Fix, FixKind, Param, Skipped
from advisor.plan import TrainingPlan
from advisor.plan_edits import PrependInputStep

ID: Final = "standardize"


def apply(plan: TrainingPlan, params: Mapping[str, Param]) -> TrainingPlan | Skipped:
    if plan.model.normalizes_inputs:
        return Skipped(ID, "the model already normalises its inputs")
    if plan.model.feeds_tokens:
        return Skipped(ID, "the inputs are token ids or strings, which are not scaled")
    return plan.with_edits(PrependInputStep(ID, ID))


FIX = Fix(
    id=ID,
    kind=FixKind.DATA,
    summary=(
        "`Normalization` layer in front, adapted on the training inputs: per column of a table, "
        "per channel of an image, per feature of a sequence, per input of a multi-input model; "
        "token ids and strings are never scaled"
    ),
    doc=__doc__ or "",
    apply=apply,
    safety="unsafe",
)
