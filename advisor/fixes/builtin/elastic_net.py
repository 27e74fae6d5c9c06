"""## What it does
Sets `kernel_regularizer=L1L2(l1, l2)` on every Dense, Conv and recurrent layer (Sequential and
functional models): L1 and L2 together.

## Why it helps
L1 drives the weights of useless inputs to exactly zero, L2 keeps the others small: on wide
tables with few informative columns that generalises better than either alone.

## Fix safety
Safe at inference: the architecture is yours; only training is penalised, and fixes are
compared on the penalty-free loss.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from advisor.fix import Fix, FixKind, Knob, Param, Skipped
from advisor.fixes.builtin._shared import no_site, number, rewrites_layers
from advisor.plan import NO_L2_SITE, TrainingPlan
from advisor.plan_edits import KernelPenalty

ID: Final = "elastic-net"


def apply(plan: TrainingPlan, params: Mapping[str, Param]) -> TrainingPlan | Skipped:
    penalty = KernelPenalty(ID, l1=number(params, "l1"), l2=number(params, "l2"))
    return (
        rewrites_layers(ID, plan)
        or no_site(ID, plan.model.l2_sites, NO_L2_SITE)
        or plan.with_edits(penalty)
    )


FIX = Fix(
    id=ID,
    kind=FixKind.REGULARISER,
    summary="`kernel_regularizer=L1L2(l1, l2)` on Dense/Conv/recurrent layers",
    doc=__doc__ or "",
    apply=apply,
    knobs=(
        Knob("l1", 1e-4, low=1e-7, high=1e-2, log=True),
        Knob("l2", 1e-3, low=1e-6, high=1e-2, log=True),
    ),
)
