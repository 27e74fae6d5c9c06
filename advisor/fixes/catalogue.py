"""The fixes: pure transformations of a :class:`TrainingPlan`, each under its public id.

A fix returns a new plan (``dataclasses.replace``) or a :class:`Skipped` saying why it does not
apply to this plan; nothing here touches Keras. The values are conventional starting points,
not tuned per dataset: the advisor retrains and measures whether they helped.

Each fix's settings are defined once, in a frozen settings object under the fix's id in
:data:`SETTINGS`: the fix reads its numbers, and ``describe()`` is what ``advisor explain``, the
README's fix table (checked by a test) and the report say about it. A new fix adds its function
to :data:`FIXES` and its settings object (anything with ``describe()``) to :data:`SETTINGS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from advisor.model_facts import loss_kind, loss_name, summarise_targets
from advisor.plan import CallbackSpec, HeadSpec, InputStep, TrainingPlan

# A compiled metric of the loss's own class, named so: Keras logs it as ``val_task_loss``, the
# validation loss without any regularisation penalty (``val_loss`` includes L2's).
TASK_LOSS = "task_loss"


class Settings(Protocol):
    def describe(self) -> str: ...


@dataclass(frozen=True)
class Described:
    """A fix with no numbers to set: only what it does."""

    text: str

    def describe(self) -> str:
        return self.text


@dataclass(frozen=True)
class Patience:
    """Patience as a share of the epoch budget, so short probes can still stop or decay."""

    share: float
    floor: int

    def of(self, epochs: int) -> int:
        return max(self.floor, round(epochs * self.share))

    def describe(self) -> str:
        return f"patience {self.share:.0%} of the epochs (at least {self.floor})"


@dataclass(frozen=True)
class DropoutSettings:
    rate: float

    def describe(self) -> str:
        return f"`Dropout({self.rate})` after each hidden Dense layer (Sequential, functional)"


@dataclass(frozen=True)
class L2Settings:
    factor: float

    def describe(self) -> str:
        return (
            f"`kernel_regularizer=L2({self.factor:g})` on Dense/Conv layers (Sequential, "
            f"functional); early stopping and LR decay then monitor `val_{TASK_LOSS}`"
        )


@dataclass(frozen=True)
class EarlyStoppingSettings:
    patience: Patience

    def describe(self) -> str:
        return (
            f'`EarlyStopping(monitor="val_loss", restore_best_weights=True)`, '
            f"{self.patience.describe()}"
        )


@dataclass(frozen=True)
class LrDecaySettings:
    factor: float
    patience: Patience
    min_lr: float

    def describe(self) -> str:
        return (
            f'`ReduceLROnPlateau(monitor="val_loss", factor={self.factor:g}, '
            f"min_lr={self.min_lr:g})`, {self.patience.describe()}"
        )


@dataclass(frozen=True)
class LowerLrSettings:
    factor: float

    def describe(self) -> str:
        return f"learning rate x {self.factor:g}"


DROPOUT = DropoutSettings(rate=0.3)
L2 = L2Settings(factor=1e-3)
EARLY_STOPPING = EarlyStoppingSettings(Patience(share=0.15, floor=3))
LR_DECAY = LrDecaySettings(factor=0.5, patience=Patience(share=0.1, floor=2), min_lr=1e-6)
LOWER_LR = LowerLrSettings(factor=0.1)
TRAIN_LONGER_REASON = (
    "advice only: it changes the epoch budget, which the comparison keeps equal; "
    "raise epochs with EarlyStopping yourself"
)
BIGGER_MODEL_REASON = "advice only: the advisor does not change layer widths"

SETTINGS: dict[str, Settings] = {
    "standardize": Described("`Normalization` layer in front, adapted on the training inputs"),
    "impute": Described(
        "NaN/inf replaced by the training mean (scikit-learn `SimpleImputer`), inside the model"
    ),
    "dropout": DROPOUT,
    "l2": L2,
    "early-stopping": EARLY_STOPPING,
    "lr-decay": LR_DECAY,
    "lower-lr": LOWER_LR,
    "repair-head": Described(
        "output layer (and for classification the loss) the targets call for: linear for "
        "regression, one sigmoid unit for two classes, k softmax units for k; a classification "
        "head only when the labels are class indices or one-hot rows. When the loss changes, "
        "baseline and fix are both scored with the repaired loss"
    ),
    "train-longer": Described(TRAIN_LONGER_REASON),
    "bigger-model": Described(BIGGER_MODEL_REASON),
}


@dataclass(frozen=True)
class Skipped:
    fix: str
    reason: str


FixResult = TrainingPlan | Skipped
Fix = Callable[[TrainingPlan], FixResult]


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
    return _rewrites_layers("dropout", plan) or _applied(plan, "dropout", dropout_rate=DROPOUT.rate)


def l2(plan: TrainingPlan) -> FixResult:
    """L2 also moves every ``val_loss`` monitor (the user's callbacks included) to the
    penalty-free ``val_task_loss``: otherwise the penalty itself would stop or decay training."""
    callbacks = tuple(_penalty_free(c) for c in plan.callbacks)
    return _rewrites_layers("l2", plan) or _applied(plan, "l2", l2=L2.factor, callbacks=callbacks)


def _monitor(plan: TrainingPlan) -> str:
    return f"val_{TASK_LOSS}" if plan.l2 else "val_loss"


def _penalty_free(spec: CallbackSpec) -> CallbackSpec:
    if spec.kwargs.get("monitor") != "val_loss":
        return spec
    return CallbackSpec(spec.name, {**spec.kwargs, "monitor": f"val_{TASK_LOSS}"})


def early_stopping(plan: TrainingPlan) -> FixResult:
    if _has_callback(plan, "EarlyStopping"):
        return Skipped("early-stopping", "the script already uses EarlyStopping")
    spec = CallbackSpec(
        "EarlyStopping",
        {
            "monitor": _monitor(plan),
            "mode": "min",
            "min_delta": 0.0,
            "patience": EARLY_STOPPING.patience.of(plan.epochs),
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
            "monitor": _monitor(plan),
            "mode": "min",
            "factor": LR_DECAY.factor,
            "patience": LR_DECAY.patience.of(plan.epochs),
            "min_delta": 0.0,
            "min_lr": LR_DECAY.min_lr,
        },
    )
    return _applied(plan, "lr-decay", callbacks=(*plan.callbacks, spec))


def lower_lr(plan: TrainingPlan) -> FixResult:
    factor = plan.learning_rate_factor * LOWER_LR.factor
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
    "train-longer": _advice_only("train-longer", TRAIN_LONGER_REASON),
    "bigger-model": _advice_only("bigger-model", BIGGER_MODEL_REASON),
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
