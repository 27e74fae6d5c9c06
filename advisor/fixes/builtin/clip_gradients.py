"""## What it does
Sets `clipnorm` on the optimizer: each weight's gradient is scaled down to at most that norm.

## Why it helps
One exploding batch can throw the weights so far that training never recovers; a clipped step
keeps its direction but cannot be huge.

## Fix safety
Safe: the architecture is yours; only the size of the largest steps changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from advisor.fix import Fix, FixKind, Knob, Param, Skipped
from advisor.fixes.builtin._shared import number
from advisor.plan import TrainingPlan
from advisor.plan_edits import ClipGradients

ID: Final = "clip-gradients"


def apply(plan: TrainingPlan, params: Mapping[str, Param]) -> TrainingPlan | Skipped:
    if plan.compiled.clips_gradients:
        return Skipped(ID, "the optimizer already clips gradients")
    return plan.with_edits(ClipGradients(ID, clipnorm=number(params, "clipnorm")))


FIX = Fix(
    id=ID,
    kind=FixKind.OPTIMIZER,
    summary="`clipnorm` on the optimizer",
    doc=__doc__ or "",
    apply=apply,
    knobs=(Knob("clipnorm", 1.0, low=0.1, high=10.0, log=True),),
)
