"""## What it does
Widens every hidden Dense and Conv layer (`units`/`filters` times `factor`) and can add
`extra_layers` hidden Dense layers like the last one before the output (Sequential and
functional models).

## Why it helps
A model that underfits its training data lacks capacity: more units per layer, or more layers,
let it represent what the data holds. The advisor retrains and measures whether it did.

## Fix safety
Unsafe: the model has more weights and computes another function; it trains and predicts
slower.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from advisor.fix import Fix, FixKind, Knob, Param, Skipped
from advisor.fixes.builtin._shared import count, number, rewrites_layers
from advisor.plan import TrainingPlan
from advisor.plan_edits import WidenHidden

ID: Final = "bigger-model"


def apply(plan: TrainingPlan, params: Mapping[str, Param]) -> TrainingPlan | Skipped:
    skipped = rewrites_layers(ID, plan)
    if skipped:
        return skipped
    if not plan.model.hidden_activations:
        return Skipped(ID, "the model has no hidden Dense/Conv layer to widen")
    widen = WidenHidden(
        ID, factor=number(params, "factor"), extra_layers=count(params, "extra_layers")
    )
    return plan.with_edits(widen)


FIX = Fix(
    id=ID,
    kind=FixKind.LAYER,
    summary=(
        "hidden Dense `units` and Conv `filters` x `factor`, plus `extra_layers` hidden Dense "
        "layers like the last one (Sequential, functional)"
    ),
    doc=__doc__ or "",
    apply=apply,
    knobs=(
        Knob("factor", 4.0, low=2.0, high=16.0, log=True, direction="up"),
        Knob("extra_layers", 0, low=0, high=2, step=1, direction="up"),
    ),
    safety="unsafe",
)
