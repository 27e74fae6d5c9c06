"""## What it does
Adds `EarlyStopping(monitor="val_loss", mode="min", restore_best_weights=True)` with a patience
that is a share of the epoch budget (at least 3 epochs), so short probes can still stop.

## Why it helps
Training stops once validation loss has not improved for `patience` epochs, and the weights of
the best epoch are restored: the epochs in which the model only memorises are not kept.

## Fix safety
Safe: the architecture is yours; with `restore_best_weights=True` the best model seen cannot
be lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from advisor.fix import Fix, FixKind, Knob, Param, Skipped
from advisor.fixes.builtin._shared import number, patience
from advisor.plan import TrainingPlan
from advisor.plan_edits import AddCallback, CallbackSpec

ID: Final = "early-stopping"
CALLBACK = "EarlyStopping"
MIN_PATIENCE = 3


def stop_early(fix: str, plan: TrainingPlan, patience_share: float) -> AddCallback:
    """The ``EarlyStopping`` edit, patience a share of the plan's epochs (train-longer's too).
    It watches ``val_loss``; under a kernel penalty the plan moves it to ``val_task_loss``."""
    spec = CallbackSpec(
        CALLBACK,
        {
            "monitor": "val_loss",
            "mode": "min",
            "min_delta": 0.0,
            "patience": patience(patience_share, MIN_PATIENCE, plan.fit_epochs),
            "restore_best_weights": True,
        },
    )
    return AddCallback(fix, spec)


def apply(plan: TrainingPlan, params: Mapping[str, Param]) -> TrainingPlan | Skipped:
    if plan.has_callback(CALLBACK):
        return Skipped(ID, f"the plan already stops early ({CALLBACK})")
    return plan.with_edits(stop_early(ID, plan, number(params, "patience_share")))


PATIENCE_SHARE = Knob("patience_share", 0.15, low=0.05, high=0.5)

FIX = Fix(
    id=ID,
    kind=FixKind.CALLBACK,
    summary=(
        '`EarlyStopping(monitor="val_loss", restore_best_weights=True)`, patience '
        f"`patience_share` of the epochs (at least {MIN_PATIENCE})"
    ),
    doc=__doc__ or "",
    apply=apply,
    knobs=(PATIENCE_SHARE,),
)
