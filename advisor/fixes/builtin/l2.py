"""## What it does
Sets `kernel_regularizer=L2(l2)` on every Dense, Conv and recurrent layer (Sequential and
functional models). Early stopping and LR decay then watch `val_task_loss`, the validation loss
without the penalty.

## Why it helps
The penalty pulls every weight towards zero: large weights that fit the noise of the training
set cost more than they gain, so the fit stays smoother.

## Fix safety
Safe at inference: the architecture is yours; only training is penalised. Keras adds the
penalty into `loss` and `val_loss`, so the advisor compares fixes on the penalty-free loss.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from advisor.fix import Fix, FixKind, Knob, Param, Skipped
from advisor.fixes.builtin._shared import no_site, number, rewrites_layers
from advisor.outcomes.scores import TASK_LOSS
from advisor.plan import NO_L2_SITE, TrainingPlan
from advisor.plan_edits import KernelPenalty

ID: Final = "l2"


def apply(plan: TrainingPlan, params: Mapping[str, Param]) -> TrainingPlan | Skipped:
    return (
        rewrites_layers(ID, plan)
        or no_site(ID, plan.model.l2_sites, NO_L2_SITE)
        or plan.with_edits(KernelPenalty(ID, l2=number(params, "l2")))
    )


FIX = Fix(
    id=ID,
    kind=FixKind.REGULARISER,
    summary=(
        "`kernel_regularizer=L2(l2)` on Dense/Conv/recurrent layers (Sequential, functional); "
        f"early stopping and LR decay then monitor `val_{TASK_LOSS}`"
    ),
    doc=__doc__ or "",
    apply=apply,
    knobs=(Knob("l2", 1e-3, low=1e-6, high=1e-2, log=True),),
)
