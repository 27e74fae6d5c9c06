"""## What it does
Multiplies the rates of your own `Dropout` layers (and `recurrent_dropout`) and your own kernel
penalties (`kernel_regularizer` L1/L2 amounts) by `factor`, below 1 (Sequential and functional
models). A model without regularisation of its own is left alone.

## Why it helps
Regularisation trades fitting the training data for generalising beyond it. Too much of it,
`Dropout(0.85)` that keeps one unit in seven, or an L2 that outweighs the task's loss, and the
model cannot fit even its training data: it underfits or stalls at chance. Weaker
regularisation lets it learn; the advisor retrains and measures whether it generalises too.

## Fix safety
Safe at inference: Keras runs Dropout in training only and a kernel penalty only shapes the
training, so the model handed out computes what your architecture computes. It may overfit
sooner than yours: the decision compares on data it never trained on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from advisor.fix import Fix, FixKind, Knob, Param, Skipped
from advisor.fixes.builtin._shared import number, rewrites_layers
from advisor.plan import TrainingPlan
from advisor.plan_edits import ScaleUserRegularisation

ID: Final = "less-regularisation"


def apply(plan: TrainingPlan, params: Mapping[str, Param]) -> TrainingPlan | Skipped:
    skipped = rewrites_layers(ID, plan)
    if skipped:
        return skipped
    if not plan.model.dropout_rates and not plan.model.kernel_penalties:
        return Skipped(ID, "the model has no Dropout or kernel penalty of its own", quiet=True)
    return plan.with_edits(ScaleUserRegularisation(ID, factor=number(params, "factor")))


FIX = Fix(
    id=ID,
    kind=FixKind.REGULARISER,
    summary=(
        "your own `Dropout` rates, `recurrent_dropout` and kernel penalties x `factor` "
        "(Sequential, functional)"
    ),
    doc=__doc__ or "",
    apply=apply,
    # Only ever weaker than yours: a factor of 1 is your plan, above 1 is another fix's job.
    # The first trial takes a heavy Dropout(0.85) to about 0.13, the light dropout a net that
    # fits usually wants (x0.3 left it at 0.26: test loss 0.35 on heavy_dropout.py, where
    # KerasTuner's best trial, at dropout 0..0.5 or none, reached 0.23).
    knobs=(Knob("factor", 0.15, low=0.01, high=0.8, log=True, direction="down"),),
)
