"""## What it does
Replaces plain SGD by `Adam(learning_rate)`; gradient clipping settings are kept.

## Why it helps
Adam scales each weight's step by its own gradient history, so layers whose gradients have
vanished still move. The user's SGD rate is usually far too large for Adam: Adam's own
default rate is the starting point.

## Fix safety
Safe: the architecture is yours; only the update rule changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from advisor.fix import Fix, FixKind, Knob, Param, Skipped
from advisor.fixes.builtin._shared import number
from advisor.plan import TrainingPlan
from advisor.plan_edits import ReplaceOptimizer

ID: Final = "adaptive-optimizer"
ADAPTIVE_OPTIMIZER = "Adam"
# Optimizers that already scale each weight's step by its gradient history.
ADAPTIVE_OPTIMIZERS = (
    "adam",
    "adamw",
    "adamax",
    "nadam",
    "rmsprop",
    "adagrad",
    "adadelta",
    "adafactor",
    "ftrl",
    "lion",
    "lamb",
)
# Carried from the user's optimizer to the adaptive one: they are not about the update rule.
_KEPT_OPTIMIZER_ARGUMENTS = ("clipnorm", "global_clipnorm", "clipvalue")


def apply(plan: TrainingPlan, params: Mapping[str, Param]) -> TrainingPlan | Skipped:
    name = plan.compiled.optimizer_name.lower()
    if name in ADAPTIVE_OPTIMIZERS:
        return Skipped(ID, f"{plan.compiled.optimizer_name} is adaptive already", quiet=True)
    if name != "sgd":
        return Skipped(
            ID, f"only plain SGD is replaced; {plan.compiled.optimizer_name} is left as it is"
        )
    given = plan.compiled.optimizer
    old_config = {} if isinstance(given, str) else given.get("config", {})
    config = {k: old_config[k] for k in _KEPT_OPTIMIZER_ARGUMENTS if k in old_config}
    optimizer = {
        "class_name": ADAPTIVE_OPTIMIZER,
        "config": {**config, "learning_rate": number(params, "learning_rate")},
    }
    return plan.with_edits(ReplaceOptimizer(ID, optimizer))


FIX = Fix(
    id=ID,
    kind=FixKind.OPTIMIZER,
    summary=f"plain SGD replaced by `{ADAPTIVE_OPTIMIZER}(learning_rate)`",
    doc=__doc__ or "",
    apply=apply,
    knobs=(Knob("learning_rate", 1e-3, low=1e-5, high=1e-1, log=True),),
)
