"""## What it does
Trains on standardised regression targets; a `Rescaling` layer after the model maps its
predictions back to your units.

## Why it helps
Targets in the thousands make the initial loss huge and the output layer's weights must grow
far before anything else is learnt; standardised targets start the fit where a fresh output
layer already predicts.

## Fix safety
Unsafe for code that reads the raw model's outputs: the model handed out includes the
`Rescaling`, so its predictions are in your units.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from advisor.arrays import is_several
from advisor.fix import Fix, FixKind, Param, Skipped
from advisor.plan import TrainingPlan
from advisor.plan_edits import ScaleTarget

ID: Final = "scale-target"


def apply(plan: TrainingPlan, params: Mapping[str, Param]) -> TrainingPlan | Skipped:
    if is_several(plan.data.y_train):
        return Skipped(ID, "the model has several outputs; scale each target yourself")
    return plan.with_edits(ScaleTarget(ID))


FIX = Fix(
    id=ID,
    kind=FixKind.DATA,
    summary=(
        "trains on standardised regression targets; a `Rescaling` layer after the model maps "
        "predictions back to your units"
    ),
    doc=__doc__ or "",
    apply=apply,
    safety="unsafe",
)
