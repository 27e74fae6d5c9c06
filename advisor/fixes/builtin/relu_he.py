"""## What it does
Hidden Dense/Conv layers that use sigmoid or tanh get `activation` (ReLU by default) and
`kernel_initializer` (He initialisation); the output layer keeps its own activation.

## Why it helps
Sigmoid and tanh saturate: their gradient vanishes for large inputs, and through a stack of
them the gradient reaching the first layers vanishes too. ReLU does not saturate for positive
inputs; He initialisation scales the weights for it (variance 2 / fan_in).

## Fix safety
Unsafe: the hidden layers compute another function.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from advisor.fix import Fix, FixKind, Knob, Param, Skipped
from advisor.fixes.builtin._shared import rewrites_layers
from advisor.plan import TrainingPlan
from advisor.plan_edits import SwapActivation

ID: Final = "relu-he"
SATURATING = ("sigmoid", "tanh")


def apply(plan: TrainingPlan, params: Mapping[str, Param]) -> TrainingPlan | Skipped:
    skipped = rewrites_layers(ID, plan)
    if skipped:
        return skipped
    if not set(plan.model.hidden_activations) & set(SATURATING):
        return Skipped(ID, "no hidden Dense/Conv layer uses sigmoid or tanh", quiet=True)
    swap = SwapActivation(
        ID,
        replaced=SATURATING,
        activation=str(params["activation"]),
        kernel_initializer=str(params["kernel_initializer"]),
    )
    return plan.with_edits(swap)


FIX = Fix(
    id=ID,
    kind=FixKind.LAYER,
    summary=(
        f"hidden {'/'.join(SATURATING)} layers get `activation` and `kernel_initializer` "
        "(the output layer keeps its own)"
    ),
    doc=__doc__ or "",
    apply=apply,
    knobs=(
        Knob("activation", "relu", choices=("relu", "elu", "gelu")),
        Knob("kernel_initializer", "he_normal", choices=("he_normal", "he_uniform")),
    ),
    safety="unsafe",
)
