"""## What it does
Replaces NaN and ±inf in the inputs by the training mean of the same input position
(scikit-learn's `SimpleImputer` statistics), inside the model.

## Why it helps
One NaN in a batch makes the loss and every gradient NaN: training stops learning at once.

## Fix safety
Unsafe: the model handed out fills missing values itself, so what it predicts for a row with
missing entries changes. It still takes your raw inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from advisor.fix import Fix, FixKind, Param, Skipped
from advisor.plan import TrainingPlan
from advisor.plan_edits import PrependInputStep

ID: Final = "impute"


def apply(plan: TrainingPlan, params: Mapping[str, Param]) -> TrainingPlan | Skipped:
    return plan.with_edits(PrependInputStep(ID, ID))


FIX = Fix(
    id=ID,
    kind=FixKind.DATA,
    summary=(
        "NaN/inf replaced by the training mean (scikit-learn `SimpleImputer`), inside the model"
    ),
    doc=__doc__ or "",
    apply=apply,
    safety="unsafe",
)
