"""The fixes: pure transformations of a :class:`TrainingPlan`, each under its public id.

A fix returns a new plan (``dataclasses.replace``) or a :class:`Skipped` saying why it does not
apply to this plan; nothing here touches Keras. The values are conventional starting points,
not tuned per dataset: the advisor retrains and measures whether they helped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from advisor.arrays import is_several
from advisor.plan import NO_DROPOUT_SITE, NO_L2_SITE, CallbackSpec, InputStep, TrainingPlan

DROPOUT_RATE = 0.3
L2_FACTOR = 1e-3
LOWER_LR_FACTOR = 0.1
LR_DECAY_FACTOR = 0.5
MIN_LR = 1e-6


@dataclass(frozen=True)
class Skipped:
    fix: str
    reason: str


FixResult = TrainingPlan | Skipped
Fix = Callable[[TrainingPlan], FixResult]


def _patience(plan: TrainingPlan, share: float, floor: int) -> int:
    """Patience as a share of the epoch budget, so short probes can still stop or decay."""
    return max(floor, round(plan.epochs * share))


def _has_callback(plan: TrainingPlan, name: str) -> bool:
    return any(c.name == name for c in plan.callbacks)


def _applied(plan: TrainingPlan, fix: str, **changes: object) -> TrainingPlan:
    return replace(plan, applied_fixes=(*plan.applied_fixes, fix), **changes)  # type: ignore[arg-type]


def _with_input_step(plan: TrainingPlan, step: InputStep) -> TrainingPlan:
    # Imputation must run before standardisation, or NaN would poison the statistics.
    steps = sorted({*plan.input_steps, step}, key=("impute", "standardize").index)
    return _applied(plan, step, input_steps=tuple(steps))


def standardize(plan: TrainingPlan) -> FixResult:
    if plan.model.normalizes_inputs:
        return Skipped("standardize", "the model already normalises its inputs")
    if plan.model.feeds_tokens:
        return Skipped("standardize", "the inputs are token ids or strings, which are not scaled")
    return _with_input_step(plan, "standardize")


def impute(plan: TrainingPlan) -> FixResult:
    return _with_input_step(plan, "impute")


def scale_target(plan: TrainingPlan) -> FixResult:
    if is_several(plan.data.y_train):
        return Skipped("scale-target", "the model has several outputs; scale each target yourself")
    return _applied(plan, "scale-target", target_scaling=True)


def _rewrites_layers(fix: str, plan: TrainingPlan) -> Skipped | None:
    if plan.model.kind == "subclassed":
        return Skipped(
            fix,
            "a subclassed model's layers cannot be rewritten from outside; "
            "add it in the model's __init__/call",
        )
    return None


def _no_site(fix: str, sites: int | None, what: str) -> Skipped | None:
    return Skipped(fix, f"the model has {what} to add it to") if sites == 0 else None


def dropout(plan: TrainingPlan) -> FixResult:
    return (
        _rewrites_layers("dropout", plan)
        or _no_site("dropout", plan.model.dropout_sites, NO_DROPOUT_SITE)
        or _applied(plan, "dropout", dropout_rate=DROPOUT_RATE)
    )


def l2(plan: TrainingPlan) -> FixResult:
    return (
        _rewrites_layers("l2", plan)
        or _no_site("l2", plan.model.l2_sites, NO_L2_SITE)
        or _applied(plan, "l2", l2=L2_FACTOR)
    )


def early_stopping(plan: TrainingPlan) -> FixResult:
    if _has_callback(plan, "EarlyStopping"):
        return Skipped("early-stopping", "the script already uses EarlyStopping")
    spec = CallbackSpec(
        "EarlyStopping",
        {
            "monitor": "val_loss",
            "mode": "min",
            "min_delta": 0.0,
            "patience": _patience(plan, 0.15, 3),
            "restore_best_weights": True,
        },
    )
    return _applied(plan, "early-stopping", callbacks=(*plan.callbacks, spec))


def lr_decay(plan: TrainingPlan) -> FixResult:
    if plan.compile.has_lr_schedule:
        return Skipped(
            "lr-decay",
            "the learning rate is already a schedule, which an LR callback cannot drive as well",
        )
    if _has_callback(plan, "ReduceLROnPlateau"):
        return Skipped("lr-decay", "the script already uses ReduceLROnPlateau")
    spec = CallbackSpec(
        "ReduceLROnPlateau",
        {
            "monitor": "val_loss",
            "mode": "min",
            "factor": LR_DECAY_FACTOR,
            "patience": _patience(plan, 0.1, 2),
            "min_delta": 0.0,
            "min_lr": MIN_LR,
        },
    )
    return _applied(plan, "lr-decay", callbacks=(*plan.callbacks, spec))


def lower_lr(plan: TrainingPlan) -> FixResult:
    factor = plan.learning_rate_factor * LOWER_LR_FACTOR
    return _applied(plan, "lower-lr", learning_rate_factor=factor)


def _advice_only(fix: str, reason: str) -> Fix:
    return lambda plan: Skipped(fix, reason)


FIXES: dict[str, Fix] = {
    "standardize": standardize,
    "impute": impute,
    "scale-target": scale_target,
    "dropout": dropout,
    "l2": l2,
    "early-stopping": early_stopping,
    "lr-decay": lr_decay,
    "lower-lr": lower_lr,
    "train-longer": _advice_only(
        "train-longer",
        "advice only: it changes the epoch budget, which the comparison "
        "keeps equal; raise epochs with EarlyStopping yourself",
    ),
    "bigger-model": _advice_only(
        "bigger-model", "advice only: the advisor does not change layer widths"
    ),
}


def apply_fixes(plan: TrainingPlan, fix_ids: tuple[str, ...]) -> tuple[TrainingPlan, list[Skipped]]:
    """``plan`` with every applicable fix of ``fix_ids`` (in order), and the skipped ones."""
    skipped: list[Skipped] = []
    for fix_id in fix_ids:
        result = FIXES[fix_id](plan)
        if isinstance(result, Skipped):
            skipped.append(result)
        else:
            plan = result
    return plan, skipped
