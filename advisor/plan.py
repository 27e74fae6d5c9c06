"""An immutable description of one training run: the thing fixes transform and training runs.

A :class:`TrainingPlan` says how to rebuild the user's model with fresh weights, how to compile
it, on which data to fit it and with which settings. Fixes are pure functions
``TrainingPlan -> TrainingPlan`` (``dataclasses.replace`` on the fields below); only
``advisor.training.fit`` turns a plan into Keras objects and calls ``fit``. The defaults of the
fix-driven fields describe the user's own run unchanged.

This module must not import TensorFlow: plans are built by capture code that already has Keras
loaded, but they are passed around, compared and printed by code that should not need it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from advisor.arrays import rows

ModelKind = Literal["sequential", "functional", "subclassed"]
ValidationSource = Literal["validation_data", "validation_split", "advisor_holdout"]
InputStep = Literal["impute", "standardize"]
# What a model lacks when dropout / L2 have nowhere to go (read by the rewrite and the fixes).
NO_DROPOUT_SITE = "no hidden Dense, Flatten, global pooling or recurrent layer"
NO_L2_SITE = "no Dense, Conv or recurrent layer"


@dataclass(frozen=True)
class ModelRecipe:
    """How to get the user's architecture back with fresh weights.

    ``source`` is the user's model object; it is only read (``clone_model``, ``get_weights`` of
    preprocessing layers), never fitted, compiled or otherwise changed.
    """

    kind: ModelKind
    source: Any
    normalizes_inputs: bool
    # Per input: token ids or strings (fed to Embedding/lookup layers), which are never scaled.
    token_inputs: tuple[bool, ...] = ()
    # Places a dropout / L2 rewrite would change (None: unknown, e.g. a subclassed model).
    dropout_sites: int | None = None
    l2_sites: int | None = None

    @property
    def feeds_tokens(self) -> bool:
        """Every input is token ids or strings: there is nothing to scale."""
        return bool(self.token_inputs) and all(self.token_inputs)


@dataclass(frozen=True)
class CompileSettings:
    """``compile`` arguments as the user gave them. The optimizer is a name (``"adam"``) or a
    serialised config read before training, since an optimizer instance cannot be shared
    between models; loss and metrics objects are rebuilt from their configs for each fit."""

    optimizer: str | Mapping[str, Any]
    loss: Any
    metrics: tuple[Any, ...] = ()
    other: Mapping[str, Any] = field(default_factory=dict)

    @property
    def optimizer_name(self) -> str:
        if isinstance(self.optimizer, str):
            return self.optimizer
        return str(self.optimizer.get("class_name", "optimizer"))

    @property
    def has_lr_schedule(self) -> bool:
        """True when the learning rate is a schedule, which an LR callback must not fight."""
        if isinstance(self.optimizer, str):
            return False
        config = self.optimizer.get("config", {})
        return isinstance(config, Mapping) and isinstance(config.get("learning_rate"), Mapping)


@dataclass(frozen=True)
class DataSplit:
    """NumPy arrays for training, validation and a held-out slice, and where validation came from.

    The holdout is carved from the user's training data before anything is trained; no fit and
    no choice between fixes ever sees it, so the improvement reported on it is not inflated by
    selection.
    """

    x_train: Any
    y_train: Any
    x_val: Any
    y_val: Any
    x_holdout: Any
    y_holdout: Any
    validation_source: ValidationSource
    # Too few rows for a holdout: it is empty, comparisons use validation over several seeds
    # (``min_repeats``), and ``notes`` say how weak that evidence is.
    min_repeats: int = 1
    notes: tuple[str, ...] = ()
    # Per-sample weights of each slice (sample_weight, or class_weight by label), or None.
    w_train: Any = None
    w_val: Any = None
    w_holdout: Any = None

    @property
    def has_holdout(self) -> bool:
        return rows(self.y_holdout) > 0

    @property
    def measured_on(self) -> Literal["holdout", "validation"]:
        """The slice the reported before/after numbers come from."""
        return "holdout" if self.has_holdout else "validation"

    def measurement(self) -> tuple[Any, Any, Any]:
        """Inputs, targets and weights of :attr:`measured_on`."""
        if self.has_holdout:
            return self.x_holdout, self.y_holdout, self.w_holdout
        return self.x_val, self.y_val, self.w_val


@dataclass(frozen=True)
class CallbackSpec:
    """A Keras callback by class name and keyword arguments, e.g. ``EarlyStopping``."""

    name: str
    kwargs: Mapping[str, Any]


@dataclass(frozen=True)
class TrainingPlan:
    model: ModelRecipe
    compile: CompileSettings
    data: DataSplit
    epochs: int
    batch_size: int | None = None
    fit_options: Mapping[str, Any] = field(default_factory=dict)
    callbacks: tuple[CallbackSpec, ...] = ()
    # Fix-driven fields; the defaults leave the user's run as it was.
    input_steps: tuple[InputStep, ...] = ()
    dropout_rate: float = 0.0
    l2: float = 0.0
    learning_rate_factor: float = 1.0
    # Train on standardised targets; the model handed out maps its outputs back to the user's.
    target_scaling: bool = False
    applied_fixes: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
