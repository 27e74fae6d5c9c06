"""## What it does
Puts a `BatchNormalization` between each hidden Dense/Conv layer and its activation.

## Why it helps
Between the layer and its activation, as in Ioffe & Szegedy (2015), it centres and scales the
pre-activations, which keeps saturating units (sigmoid, tanh) in their steep range, exactly
where stacked sigmoid nets stall. After the activation it would normalise outputs that have
already saturated.

## Fix safety
Unsafe: the model gains layers with their own statistics, which behave differently in
training and inference.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from advisor.fix import Fix, FixKind, Param, Skipped
from advisor.fixes.builtin._shared import rewrites_layers
from advisor.plan import TrainingPlan
from advisor.plan_edits import BatchNormBeforeActivation

ID: Final = "batch-norm"


def apply(plan: TrainingPlan, params: Mapping[str, Param]) -> TrainingPlan | Skipped:
    skipped = rewrites_layers(ID, plan)
    if skipped:
        return skipped
    if "BatchNormalization" in plan.model.layer_types:
        return Skipped(ID, "the model already has BatchNormalization layers")
    if not plan.model.hidden_activations:
        return Skipped(ID, "the model has no hidden Dense/Conv layer", quiet=True)
    return plan.with_edits(BatchNormBeforeActivation(ID))


FIX = Fix(
    id=ID,
    kind=FixKind.LAYER,
    summary="`BatchNormalization` between each hidden Dense/Conv layer and its activation",
    doc=__doc__ or "",
    apply=apply,
    safety="unsafe",
)
