"""## What it does
Adds `ReduceLROnPlateau(monitor="val_loss", mode="min", factor, min_lr)` with a patience that
is a share of the epoch budget (at least 2 epochs).

## Why it helps
When validation loss stops improving, a smaller step lets the optimiser descend into the
minimum it has been circling, instead of bouncing across it.

## Fix safety
Safe: the architecture is yours. Skipped when the learning rate is a schedule already, which a
callback cannot drive as well.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from advisor.fix import Fix, FixKind, Knob, Param, Skipped
from advisor.fixes.builtin._shared import number, patience
from advisor.plan import TrainingPlan
from advisor.plan_edits import AddCallback, CallbackSpec

ID: Final = "lr-decay"
CALLBACK = "ReduceLROnPlateau"
MIN_PATIENCE = 2


def apply(plan: TrainingPlan, params: Mapping[str, Param]) -> TrainingPlan | Skipped:
    if plan.compiled.has_lr_schedule:
        return Skipped(
            ID, "the learning rate is already a schedule, which an LR callback cannot drive as well"
        )
    if plan.has_callback(CALLBACK):
        return Skipped(ID, f"the script already uses {CALLBACK}")
    spec = CallbackSpec(
        CALLBACK,
        {
            "monitor": "val_loss",
            "mode": "min",
            "factor": number(params, "factor"),
            "patience": patience(number(params, "patience_share"), MIN_PATIENCE, plan.fit_epochs),
            "min_delta": 0.0,
            "min_lr": number(params, "min_lr"),
        },
    )
    return plan.with_edits(AddCallback(ID, spec))


FIX = Fix(
    id=ID,
    kind=FixKind.SCHEDULE,
    summary=(
        '`ReduceLROnPlateau(monitor="val_loss", factor, min_lr)`, patience `patience_share` of '
        f"the epochs (at least {MIN_PATIENCE})"
    ),
    doc=__doc__ or "",
    apply=apply,
    knobs=(
        Knob("factor", 0.5, low=0.1, high=0.9),
        Knob("patience_share", 0.1, low=0.03, high=0.4),
        Knob("min_lr", 1e-6, low=1e-8, high=1e-4, log=True),
    ),
)
