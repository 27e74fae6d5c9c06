"""## What it does
Multiplies the epoch budget by `factor`, with `EarlyStopping` so that the extra epochs are only
spent while validation still improves. The baseline keeps its budget; the report states the
epochs this cost.

## Why it helps
A run whose training and validation loss are both still falling at the end has not learnt
what it can: more epochs let it.

## Fix safety
Safe: the architecture is yours; training takes longer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from advisor.fix import Fix, FixKind, Knob, Param, Skipped
from advisor.fixes.builtin._shared import count
from advisor.fixes.builtin.early_stopping import CALLBACK, PATIENCE_SHARE, stop_early
from advisor.plan import TrainingPlan
from advisor.plan_edits import SetEpochs

ID: Final = "train-longer"


def apply(plan: TrainingPlan, params: Mapping[str, Param]) -> TrainingPlan | Skipped:
    longer = plan.with_edits(SetEpochs(ID, plan.fit_epochs * count(params, "factor")))
    if plan.has_callback(CALLBACK):
        return longer
    return longer.with_edits(stop_early(ID, longer, float(PATIENCE_SHARE.default)))


FIX = Fix(
    id=ID,
    kind=FixKind.BUDGET,
    summary="`factor`x the epochs, with `EarlyStopping`; the extra epochs it ran are stated",
    doc=__doc__ or "",
    apply=apply,
    knobs=(Knob("factor", 3, low=2, high=6, step=1, direction="up"),),
)
