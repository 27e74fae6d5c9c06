"""## What it does
Shuffles the rows (with a fixed seed) before `validation_split` takes its last slice.

## Why it helps
`validation_split` takes the *last* rows without shuffling: rows sorted by class or by time
make a validation set unlike the training set, and every number measured on it misleads; the
model also trains on almost none of the rows set aside (a class it never sees).

## Fix safety
Safe: the model and training are yours; only which rows train and which validate changes.
The advisor's selection and holdout slices are drawn from all your rows before anything
trains, so the shuffled fit and your own are judged on the same rows, none of which either
trained or validated on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Final

from advisor.fix import Fix, FixKind, Param, Skipped
from advisor.plan import TrainingPlan
from advisor.plan_edits import ShuffleBeforeSplit

ID: Final = "shuffle-split"
SEED: Final = 0


def apply(plan: TrainingPlan, params: Mapping[str, Param]) -> TrainingPlan | Skipped:
    if plan.data.validation_source != "validation_split":
        return Skipped(ID, "the script does not use validation_split", quiet=True)
    if plan.data.streams is not None or not plan.data.has_selection_slice:
        # Without a selection slice only validation decides, and shuffling changes it.
        return Skipped(ID, "too few rows for a selection slice to compare the shuffled split on")
    shuffled = replace(plan, data=plan.data.with_shuffled_validation(SEED))
    return shuffled.with_edits(ShuffleBeforeSplit(ID, seed=SEED))


FIX = Fix(
    id=ID,
    kind=FixKind.DATA,
    summary="rows shuffled before `validation_split` takes its last slice",
    doc=__doc__ or "",
    apply=apply,
)
