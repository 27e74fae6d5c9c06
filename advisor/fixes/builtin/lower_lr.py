"""## What it does
Multiplies the optimizer's learning rate (or a schedule's starting values) by `factor`.

## Why it helps
A step too large for the loss surface overshoots: the loss oscillates, grows or turns NaN. A
smaller step follows the surface down. A step too small (plain SGD at 1e-3, weights moving
less than 2 % an epoch) leaves the model where it started: a larger one, `factor` above 1,
gets there within your epochs. The finding says which way; a learning-rate range test on your
model and data says where to start.

## Fix safety
Safe: the architecture is yours; training is slower per epoch of progress.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from advisor.fix import Fix, FixKind, Knob, Param, Skipped
from advisor.fixes.builtin._shared import number
from advisor.plan import TrainingPlan
from advisor.plan_edits import ScaleLearningRate

ID: Final = "lower-lr"


def apply(plan: TrainingPlan, params: Mapping[str, Param]) -> TrainingPlan | Skipped:
    return plan.with_edits(ScaleLearningRate(ID, factor=number(params, "factor")))


FIX = Fix(
    id=ID,
    kind=FixKind.OPTIMIZER,
    summary="learning rate x `factor`",
    doc=__doc__ or "",
    apply=apply,
    # Both sides of the user's rate: a finding that knows the way (a divergence: down; a stall
    # on tiny updates: up) narrows it, a range test centres it, and with neither it is
    # searched x0.1..x10 (see advisor.search.space). Down to x1e-5: Adam at a learning rate
    # of 100 needs 1e-3.
    knobs=(Knob("factor", 0.1, low=1e-5, high=1e3, log=True),),
)
