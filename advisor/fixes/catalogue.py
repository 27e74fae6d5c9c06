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

import numpy as np

from advisor.arrays import is_several
from advisor.model_facts import loss_kind, loss_name, summarise_targets
from advisor.plan import (
    NO_DROPOUT_SITE,
    NO_L2_SITE,
    ActivationSwap,
    CallbackSpec,
    HeadSpec,
    InputStep,
    LayerSpec,
    TrainingPlan,
)

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
        return (
            f"`Dropout({self.rate})` after each hidden Dense, Flatten and global pooling layer; "
            f"`recurrent_dropout={self.rate}` in LSTM/GRU/SimpleRNN (Sequential, functional)"
        )


@dataclass(frozen=True)
class L2Settings:
    factor: float

    def describe(self) -> str:
        return (
            f"`kernel_regularizer=L2({self.factor:g})` on Dense/Conv/recurrent layers "
            f"(Sequential, functional); early stopping and LR decay then monitor `val_{TASK_LOSS}`"
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
L1_FACTOR = 1e-4
EARLY_STOPPING = EarlyStoppingSettings(Patience(share=0.15, floor=3))
LR_DECAY = LrDecaySettings(factor=0.5, patience=Patience(share=0.1, floor=2), min_lr=1e-6)
LOWER_LR = LowerLrSettings(factor=0.1)
BIGGER_MODEL_REASON = "advice only: the advisor does not change layer widths"



@dataclass(frozen=True)
class Skipped:
    """A fix that does not apply, and why. ``quiet`` when the fix has nothing to act on at all
    (augmentation for a table): the report then leaves it out rather than list the obvious."""

    fix: str
    reason: str
    quiet: bool = False


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
        or _applied(plan, "dropout", dropout_rate=DROPOUT.rate)
    )


def l2(plan: TrainingPlan) -> FixResult:
    return (
        _rewrites_layers("l2", plan)
        or _no_site("l2", plan.model.l2_sites, NO_L2_SITE)
        or _penalised(plan, "l2", l2=L2.factor)
    )


def _penalised(plan: TrainingPlan, fix: str, **penalties: float) -> TrainingPlan:
    """A kernel penalty also moves every ``val_loss`` monitor (the user's callbacks included) to
    the penalty-free ``val_task_loss``: otherwise the penalty itself would stop or decay
    training."""
    callbacks = tuple(_penalty_free(c) for c in plan.callbacks)
    return _applied(plan, fix, callbacks=callbacks, **penalties)


def _monitor(plan: TrainingPlan) -> str:
    return f"val_{TASK_LOSS}" if plan.l2 or plan.l1 else "val_loss"


def _penalty_free(spec: CallbackSpec) -> CallbackSpec:
    if spec.kwargs.get("monitor") != "val_loss":
        return spec
    return CallbackSpec(spec.name, {**spec.kwargs, "monitor": f"val_{TASK_LOSS}"})


def early_stopping(plan: TrainingPlan) -> FixResult:
    if _has_callback(plan, "EarlyStopping"):
        return Skipped("early-stopping", "the plan already stops early (EarlyStopping)")
    spec = _early_stopping_spec(plan)
    return _applied(plan, "early-stopping", callbacks=(*plan.callbacks, spec))


def _early_stopping_spec(plan: TrainingPlan) -> CallbackSpec:
    return CallbackSpec(
        "EarlyStopping",
        {
            "monitor": _monitor(plan),
            "mode": "min",
            "min_delta": 0.0,
            "patience": EARLY_STOPPING.patience.of(plan.epochs),
            "restore_best_weights": True,
        },
    )


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
    if is_several(plan.data.y_train):
        return Skipped("repair-head", "the model has several outputs; repair each head yourself")
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


def elastic_net(plan: TrainingPlan) -> FixResult:
    """L1 and L2 together: sparse weights from L1, small ones from L2."""
    skipped = _rewrites_layers("elastic-net", plan) or _no_site(
        "elastic-net", plan.model.l2_sites, NO_L2_SITE
    )
    return skipped or _penalised(plan, "elastic-net", l1=L1_FACTOR, l2=L2.factor)


# --- relu-he: non-saturating hidden units --------------------------------------------------------

# Sigmoid and tanh saturate: their gradient vanishes for large inputs, and through a stack of
# them the gradient reaching the first layers vanishes too. ReLU does not saturate for positive
# inputs; He initialisation scales the weights for it (variance 2 / fan_in).
RELU_HE = ActivationSwap(
    replaced=("sigmoid", "tanh"), activation="relu", kernel_initializer="he_normal"
)


def relu_he(plan: TrainingPlan) -> FixResult:
    skipped = _rewrites_layers("relu-he", plan)
    if skipped:
        return skipped
    if not set(plan.model.hidden_activations) & set(RELU_HE.replaced):
        return Skipped("relu-he", "no hidden Dense/Conv layer uses sigmoid or tanh", quiet=True)
    return _applied(plan, "relu-he", activation_swap=RELU_HE)


# --- batch-norm ----------------------------------------------------------------------------------

# BatchNormalization goes between each hidden Dense/Conv layer and its activation, as in Ioffe &
# Szegedy (2015): it centres and scales the pre-activations, which keeps saturating units
# (sigmoid, tanh) in their steep range, exactly where stacked sigmoid nets stall. After the
# activation it would normalise outputs that have already saturated.


def batch_norm(plan: TrainingPlan) -> FixResult:
    skipped = _rewrites_layers("batch-norm", plan)
    if skipped:
        return skipped
    if "BatchNormalization" in plan.model.layer_types:
        return Skipped("batch-norm", "the model already has BatchNormalization layers")
    if not plan.model.hidden_activations:
        return Skipped("batch-norm", "the model has no hidden Dense/Conv layer", quiet=True)
    return _applied(plan, "batch-norm", batch_norm=True)


# --- optimizer -----------------------------------------------------------------------------------

CLIPNORM = 1.0
ADAPTIVE_OPTIMIZER = "Adam"
# Adam's own default: the user's SGD rate is usually far too large for Adam.
ADAPTIVE_LEARNING_RATE = 1e-3
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


def clip_gradients(plan: TrainingPlan) -> FixResult:
    if plan.compile.clips_gradients:
        return Skipped("clip-gradients", "the optimizer already clips gradients")
    return _applied(plan, "clip-gradients", clipnorm=CLIPNORM)


def adaptive_optimizer(plan: TrainingPlan) -> FixResult:
    name = plan.compile.optimizer_name.lower()
    if name in ADAPTIVE_OPTIMIZERS:
        return Skipped(
            "adaptive-optimizer", f"{plan.compile.optimizer_name} is adaptive already", quiet=True
        )
    if name != "sgd":
        return Skipped(
            "adaptive-optimizer",
            f"only plain SGD is replaced; {plan.compile.optimizer_name} is left as it is",
        )
    given = plan.compile.optimizer
    old_config = {} if isinstance(given, str) else given.get("config", {})
    config = {k: old_config[k] for k in _KEPT_OPTIMIZER_ARGUMENTS if k in old_config}
    optimizer = {
        "class_name": ADAPTIVE_OPTIMIZER,
        "config": {**config, "learning_rate": ADAPTIVE_LEARNING_RATE},
    }
    compile_settings = replace(plan.compile, optimizer=optimizer)
    return _applied(plan, "adaptive-optimizer", compile=compile_settings)


# --- augment -------------------------------------------------------------------------------------

# Small, label-preserving changes to each training image, drawn anew every epoch (Keras runs
# these layers in training only). Measured on fixtures/scripts/overfit_digits_cnn.py (150 digit
# images, two seeds, test loss 0.34-0.45 without augmentation): no flip, since a mirrored digit
# or letter is another symbol (0.63-1.13 with flips); nearest-pixel interpolation, since
# bilinear resampling blurs small images in training only, which the model never sees at test
# time (0.36-0.42 bilinear, 0.19-0.23 nearest).
# Uncovered borders are filled with 0: the background of scaled images, the mean of
# standardised ones.
_AUGMENTATION_FILL = {"fill_mode": "constant", "fill_value": 0.0, "interpolation": "nearest"}
AUGMENTATION = (
    LayerSpec(
        "RandomTranslation", {"height_factor": 0.1, "width_factor": 0.1, **_AUGMENTATION_FILL}
    ),
    LayerSpec("RandomRotation", {"factor": 0.05, **_AUGMENTATION_FILL}),
    LayerSpec("RandomZoom", {"height_factor": 0.1, **_AUGMENTATION_FILL}),
)
_IMAGE_RANK = 4  # (samples, height, width, channels)
_AUGMENTATION_LAYERS = frozenset(
    ("RandomFlip", "RandomTranslation", "RandomRotation", "RandomZoom", "RandomCrop")
)


def augment(plan: TrainingPlan) -> FixResult:
    if is_several(plan.data.x_train) or np.ndim(plan.data.x_train) != _IMAGE_RANK:
        return Skipped(
            "augment", "the inputs are not images (samples, height, width, channels)", quiet=True
        )
    if _AUGMENTATION_LAYERS & set(plan.model.layer_types):
        return Skipped("augment", "the model already augments its inputs")
    return _applied(plan, "augment", augmentation=AUGMENTATION)


# --- train-longer --------------------------------------------------------------------------------

TRAIN_LONGER_FACTOR = 3


def train_longer(plan: TrainingPlan) -> FixResult:
    """More epochs, with early stopping so that the extra ones are only spent while validation
    still improves. The baseline keeps its budget; the report states the epochs this cost."""
    longer = replace(
        plan,
        epochs=plan.epochs * TRAIN_LONGER_FACTOR,
        baseline_epochs=plan.baseline_epochs or plan.epochs,
    )
    if not _has_callback(plan, "EarlyStopping"):
        longer = replace(longer, callbacks=(*plan.callbacks, _early_stopping_spec(longer)))
    return _applied(longer, "train-longer")


def _advice_only(fix: str, reason: str) -> Fix:
    return lambda plan: Skipped(fix, reason)


SETTINGS: dict[str, Settings] = {
    "standardize": Described(
        "`Normalization` layer in front, adapted on the training inputs: per column of a table, "
        "per channel of an image, per feature of a sequence, per input of a multi-input model; "
        "token ids and strings are never scaled"
    ),
    "impute": Described(
        "NaN/inf replaced by the training mean (scikit-learn `SimpleImputer`), inside the model"
    ),
    "scale-target": Described(
        "trains on standardised regression targets; a `Rescaling` layer after the model maps "
        "predictions back to your units"
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
    "elastic-net": Described(
        f"`kernel_regularizer=L1L2(l1={L1_FACTOR:g}, l2={L2.factor:g})` on Dense/Conv/recurrent "
        "layers"
    ),
    "relu-he": Described(
        f"hidden {'/'.join(RELU_HE.replaced)} layers get `{RELU_HE.activation}` and "
        f"`{RELU_HE.kernel_initializer}` initialisation (the output layer keeps its own)"
    ),
    "batch-norm": Described(
        "`BatchNormalization` between each hidden Dense/Conv layer and its activation"
    ),
    "clip-gradients": Described(f"`clipnorm={CLIPNORM:g}` on the optimizer"),
    "adaptive-optimizer": Described(
        f"plain SGD replaced by `{ADAPTIVE_OPTIMIZER}(learning_rate={ADAPTIVE_LEARNING_RATE:g})`"
    ),
    "augment": Described(
        "image inputs only: "
        + ", ".join(f"`{layer.name}`" for layer in AUGMENTATION)
        + " in front of the model (active in training only)"
    ),
    "train-longer": Described(
        f"{TRAIN_LONGER_FACTOR}x the epochs, with `EarlyStopping`; the extra epochs it ran are "
        "stated"
    ),
    "bigger-model": Described(BIGGER_MODEL_REASON),
}

FIXES: dict[str, Fix] = {
    "standardize": standardize,
    "impute": impute,
    "scale-target": scale_target,
    "dropout": dropout,
    "l2": l2,
    "early-stopping": early_stopping,
    "lr-decay": lr_decay,
    "lower-lr": lower_lr,
    "repair-head": repair_head,
    "elastic-net": elastic_net,
    "relu-he": relu_he,
    "batch-norm": batch_norm,
    "clip-gradients": clip_gradients,
    "adaptive-optimizer": adaptive_optimizer,
    "augment": augment,
    "train-longer": train_longer,
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
