"""The fixes: pure transformations of a :class:`TrainingPlan`, each under its public id.

A fix returns a new plan (``dataclasses.replace``) or a :class:`Skipped` saying why it does not
apply to this plan; nothing here touches Keras. The values are conventional starting points,
not tuned per dataset: the advisor retrains and measures whether they helped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from advisor.model_facts import loss_kind, loss_name, summarise_targets
from advisor.plan import CallbackSpec, HeadSpec, InputStep, TrainingPlan

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
    return _with_input_step(plan, "standardize")


def impute(plan: TrainingPlan) -> FixResult:
    return _with_input_step(plan, "impute")


def _rewrites_layers(fix: str, plan: TrainingPlan) -> Skipped | None:
    if plan.model.kind == "subclassed":
        return Skipped(
            fix,
            "a subclassed model's layers cannot be rewritten from outside; "
            "add it in the model's __init__/call",
        )
    return None


def dropout(plan: TrainingPlan) -> FixResult:
    return _rewrites_layers("dropout", plan) or _applied(plan, "dropout", dropout_rate=DROPOUT_RATE)


def l2(plan: TrainingPlan) -> FixResult:
    return _rewrites_layers("l2", plan) or _applied(plan, "l2", l2=L2_FACTOR)


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


def repair_head(plan: TrainingPlan) -> FixResult:
    """The output layer (and, for classification, the loss) that the targets call for.

    Regression losses get a linear head. A classification head is repaired only when the
    labels say what it should be: class indices from 0, or one-hot rows.
    """
    skipped = _rewrites_layers("repair-head", plan)
    if skipped is not None:
        return skipped
    head = head_for_targets(plan.compile.loss, plan.data.y_train)
    if isinstance(head, str):
        return Skipped("repair-head", head)
    return _applied(plan, "repair-head", head=head)


def head_for_targets(loss: Any, y: Any) -> HeadSpec | str:
    """The head for ``loss`` and targets ``y``, or why the targets do not say which one."""
    name = loss_name(loss)
    kind = loss_kind(name)
    if kind == "regression":
        return HeadSpec(activation="linear")
    if kind == "other":
        return f"the loss {name!r} is not one whose output layer the advisor knows"
    targets = summarise_targets(y)
    classes = targets.n_classes
    if classes is None:
        return "the labels are neither class indices from 0 nor one-hot rows"
    wanted: tuple[str, str, int]
    if targets.one_hot:
        wanted = ("categorical", "softmax", classes)
    elif classes <= 2 and kind != "sparse":
        wanted = ("binary", "sigmoid", 1)
    else:
        wanted = ("sparse", "softmax", max(classes, 2))
    wanted_kind, activation, units = wanted
    keep_loss = kind == wanted_kind and not getattr(loss, "from_logits", False)
    return HeadSpec(activation, units, None if keep_loss else _LOSS_NAMES[wanted_kind])


_LOSS_NAMES = {
    "binary": "binary_crossentropy",
    "sparse": "sparse_categorical_crossentropy",
    "categorical": "categorical_crossentropy",
}


def scoring_loss(plans: Iterable[TrainingPlan], default: Any) -> Any:
    """The one loss baseline and candidates are all scored with: a loss a head repair chose
    (the user's one may not fit the targets), else ``default``, the user's."""
    return next((p.head.loss for p in plans if p.head and p.head.loss), default)


def _advice_only(fix: str, reason: str) -> Fix:
    return lambda plan: Skipped(fix, reason)


FIXES: dict[str, Fix] = {
    "standardize": standardize,
    "impute": impute,
    "dropout": dropout,
    "l2": l2,
    "early-stopping": early_stopping,
    "lr-decay": lr_decay,
    "lower-lr": lower_lr,
    "repair-head": repair_head,
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
