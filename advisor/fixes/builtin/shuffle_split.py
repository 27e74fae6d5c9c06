"""## What it does
Shuffles the rows (with a fixed seed) before `validation_split` takes its last slice.

## Why it helps
`validation_split` takes the *last* rows without shuffling: rows sorted by class or by time
make a validation set unlike the training set, and every number measured on it misleads.

## Fix safety
Safe: the model and training are yours; only which rows validate changes. The advisor's own
fits keep your split, so they cannot measure what shuffling gains: the gain shows only on a
test split of your own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from advisor.fix import Fix, FixKind, Param, Skipped
from advisor.plan import TrainingPlan
from advisor.plan_edits import ShuffleBeforeSplit

ID: Final = "shuffle-split"


def apply(plan: TrainingPlan, params: Mapping[str, Param]) -> TrainingPlan | Skipped:
    if plan.data.validation_source != "validation_split":
        return Skipped(ID, "the script does not use validation_split", quiet=True)
    return plan.with_edits(ShuffleBeforeSplit(ID))


FIX = Fix(
    id=ID,
    kind=FixKind.DATA,
    summary="rows shuffled before `validation_split` takes its last slice",
    doc=__doc__ or "",
    apply=apply,
)
