"""An immutable description of one training run: the thing fixes transform and training runs.

A :class:`TrainingPlan` says how to rebuild the user's model with fresh weights, how to compile
it, on which data to fit it and with which settings. Fixes are pure functions
``TrainingPlan -> TrainingPlan`` that append :mod:`advisor.plan_edits`; only
``advisor.training`` turns a plan into Keras objects and calls ``fit``. A plan without edits is
the user's own run unchanged.

This module must not import TensorFlow: plans are built by capture code that already has Keras
loaded, but they are passed around, compared and printed by code that should not need it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

import numpy as np

from advisor.arrays import concat_slices, rows, take_slice
from advisor.outcomes.scores import TASK_LOSS
from advisor.plan_edits import (
    AddCallback,
    CallbackSpec,
    KernelPenalty,
    PlanEdit,
    ReplaceHead,
    ReplaceOptimizer,
    SetEpochs,
)
from advisor.streams import DataStreams, StreamSlice

ModelKind = Literal["sequential", "functional", "subclassed"]
ValidationSource = Literal["validation_data", "validation_split", "advisor_holdout"]
# Optimizer config keys by which Keras clips gradients.
_CLIP_ARGUMENTS = ("clipnorm", "global_clipnorm", "clipvalue")
# What a model lacks when dropout / a kernel penalty have nowhere to go (rewrite and fixes).
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
    # The factor the model's own Rescaling layers multiply its inputs by before any learned
    # layer (None: none does; see advisor.keras_model.inspect.input_rescaling).
    input_rescaling: float | None = None
    # What fixes need to know to decide whether they fit, read from the user's model when the
    # plan is built: class names of its layers (nested models looked into), and the activation
    # of each hidden Dense/Conv layer. The defaults make layer-dependent fixes skip.
    layer_types: tuple[str, ...] = ()
    hidden_activations: tuple[str, ...] = ()
    # The effective activation of the output Dense layer (None: unknown, or several outputs).
    output_activation: str | None = None
    # Per input: token ids or strings (fed to Embedding/lookup layers), which are never scaled.
    token_inputs: tuple[bool, ...] = ()
    # Places a dropout / L2 rewrite would change (None: unknown, e.g. a subclassed model).
    dropout_sites: int | None = None
    l2_sites: int | None = None
    # The user's own regularisation, which a fix may weaken: the rate of each Dropout layer
    # and recurrent_dropout above 0, and how many layers carry a kernel_regularizer.
    dropout_rates: tuple[float, ...] = ()
    kernel_penalties: int = 0

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
    # A tuple of metrics (or of per-output lists), or a dict of them by output name.
    metrics: tuple[Any, ...] | Mapping[str, Any] = ()
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

    @property
    def clips_gradients(self) -> bool:
        """True when the optimizer already clips gradients (by norm, global norm or value)."""
        if isinstance(self.optimizer, str):
            return False
        config = self.optimizer.get("config", {})
        return any(config.get(key) is not None for key in _CLIP_ARGUMENTS)


@dataclass(frozen=True)
class ScriptRows:
    """Where a ``validation_split`` script's rows went: each slice's positions among the rows
    the script passes to ``fit`` (in its order), and the fraction Keras validates on. The
    export then trains and validates on exactly the rows the script's own fit does, as the
    patched script will (:meth:`DataSplit.as_the_script_splits`)."""

    train: np.ndarray
    val: np.ndarray
    select: np.ndarray
    holdout: np.ndarray
    validation_split: float


@dataclass(frozen=True)
class DataSplit:
    """NumPy arrays for training, validation, selection and a held-out slice, and where
    validation came from.

    Four disjoint slices, each with one job: ``train`` is fitted on; ``val`` is what Keras
    validates on (and what early stopping and LR decay watch); ``select`` decides (which
    candidate, and whether a fix is adopted at all); ``holdout`` only reports. Selection and
    holdout are carved from the user's training data before anything is trained, so the numbers
    reported on the holdout are not inflated by any choice. Under ``validation_split`` both
    are drawn from all the user's rows and Keras' last-slice rule applies to the rest, so a fix
    may change which rows validate (a fix that shuffles first, :meth:`with_shuffled_validation`).
    """

    x_train: Any
    y_train: Any
    x_val: Any
    y_val: Any
    x_holdout: Any
    y_holdout: Any
    validation_source: ValidationSource
    x_select: Any = None
    y_select: Any = None
    # Too few rows for a holdout: holdout and selection slice are empty, decisions use
    # validation over several seeds (``min_repeats``), and ``notes`` say how weak that is.
    min_repeats: int = 1
    notes: tuple[str, ...] = ()
    # Per-sample weights of each slice (sample_weight, or class_weight by label), or None.
    w_train: Any = None
    w_val: Any = None
    w_holdout: Any = None
    w_select: Any = None
    # A dataset too large to read: fits and scores stream these slices, and the arrays above
    # are only the bounded sample that profiles, rules and layer adaptation read.
    streams: DataStreams | None = None
    # Under validation_split (with a holdout): where the slices' rows sit among the script's.
    script_rows: ScriptRows | None = None

    @property
    def has_holdout(self) -> bool:
        return self.streams is not None or rows(self.y_holdout) > 0

    @property
    def has_selection_slice(self) -> bool:
        """Rows set aside to decide on alone (a streamed dataset always has its batch set)."""
        return self.streams is not None or (self.y_select is not None and rows(self.y_select) > 0)

    @property
    def cross_validates(self) -> bool:
        """The script gave few rows and no validation: every row is one the task needs (a
        4-row XOR cannot spare one), so decisions cross-validate over all of them and the
        model handed out trains on every row; no untouched holdout is left to confirm."""
        return self.validation_source == "advisor_holdout" and not self.has_holdout

    @property
    def measured_on(self) -> Literal["holdout", "validation"]:
        """The slice the reported numbers come from: validation (which also decided) only when
        the data was too small for a holdout."""
        return "holdout" if self.has_holdout else "validation"

    def measurement(self) -> tuple[Any, Any, Any]:
        """Inputs, targets and weights of :attr:`measured_on`."""
        if self.has_holdout:
            return self.x_holdout, self.y_holdout, self.w_holdout
        return self.x_val, self.y_val, self.w_val

    def measurement_streams(self) -> tuple[StreamSlice, ...]:
        """The streamed slices of :attr:`measured_on` (none when the data is in memory)."""
        return () if self.streams is None else (self.streams.holdout,)

    def selection_streams(self) -> tuple[StreamSlice, ...]:
        """The streamed slices of :meth:`selection` (none when the data is in memory)."""
        return () if self.streams is None else (self.streams.val, self.streams.select)

    def selection(self) -> tuple[Any, Any, Any]:
        """Inputs, targets and weights of the selection data: validation and selection slice
        pooled (validation alone when there is no selection slice). Which of them decides a
        comparison is :func:`advisor.fixes.deciding.deciding_slice`'s call."""
        if self.y_select is None or rows(self.y_select) == 0:
            return self.x_val, self.y_val, self.w_val
        return concat_slices(
            [(self.x_val, self.y_val, self.w_val), (self.x_select, self.y_select, self.w_select)]
        )

    def with_shuffled_validation(self, seed: int) -> DataSplit:
        """The training and validation rows shuffled together (``seed``), then split again
        as ``validation_split`` does: the last rows, as many as before, validate. The
        selection and holdout slices stay; the rows keep the shuffled order, as in a script
        that shuffles before ``fit``."""
        x, y, w = concat_slices(
            [(self.x_train, self.y_train, self.w_train), (self.x_val, self.y_val, self.w_val)]
        )
        order = np.random.default_rng(seed).permutation(rows(y))
        train, val = order[: rows(self.y_train)], order[rows(self.y_train) :]
        x_train, y_train, w_train = take_slice(x, y, w, train)
        x_val, y_val, w_val = take_slice(x, y, w, val)
        script_rows = self.script_rows
        if script_rows is not None:  # the rows' positions in the script move with them
            positions = np.concatenate([script_rows.train, script_rows.val])
            script_rows = replace(script_rows, train=positions[train], val=positions[val])
        return replace(
            self, x_train=x_train, y_train=y_train, w_train=w_train,
            x_val=x_val, y_val=y_val, w_val=w_val, script_rows=script_rows,
        )  # fmt: skip

    def as_the_script_splits(self, shuffle_seed: int | None = None) -> DataSplit:
        """Every row back in the script's order (shuffled with NumPy's ``default_rng
        (shuffle_seed)`` first, as the patch of a shuffled split does), then Keras'
        ``validation_split`` rule on all of them: what the script's own fit trains and
        validates on. The advisor's fits train on fewer rows (selection and holdout are carved
        from all of them, some of the script's validation rows among them); the export must
        train as the patched script will. Unchanged without :attr:`script_rows`."""
        where = self.script_rows
        if where is None:
            return self
        x, y, w = concat_slices([
            (self.x_train, self.y_train, self.w_train), (self.x_val, self.y_val, self.w_val),
            (self.x_select, self.y_select, self.w_select),
            (self.x_holdout, self.y_holdout, self.w_holdout),
        ])  # fmt: skip
        order = np.argsort(np.concatenate([where.train, where.val, where.select, where.holdout]))
        if shuffle_seed is not None:
            order = order[np.random.default_rng(shuffle_seed).permutation(len(order))]
        cut = int(np.floor(len(order) * (1.0 - where.validation_split)))
        x_train, y_train, w_train = take_slice(x, y, w, order[:cut])
        x_val, y_val, w_val = take_slice(x, y, w, order[cut:])
        return replace(
            self, x_train=x_train, y_train=y_train, w_train=w_train,
            x_val=x_val, y_val=y_val, w_val=w_val,
        )  # fmt: skip


E = TypeVar("E", bound=PlanEdit)
# What Keras batches arrays by when fit is given no batch_size.
KERAS_DEFAULT_BATCH_SIZE = 32


@dataclass(frozen=True)
class TrainingPlan:
    """The user's run (model, compile, data, budget, their own callbacks) and the ordered
    :mod:`~advisor.plan_edits` the fixes added to it. A fix never adds a field here: it
    appends edits, and each reader (rebuild, compile, fit, patch) walks them; only a fix that
    changes which rows validate also re-splits ``data`` (the rows are data, not a setting)."""

    model: ModelRecipe
    compile: CompileSettings
    data: DataSplit
    epochs: int
    batch_size: int | None = None
    # The epochs of the user's own fit; the probe (``epochs``) may be shorter.
    user_epochs: int | None = None
    # Passes over the training slice per epoch, as the script's steps_per_epoch drew them
    # (None: one pass, as Keras fits arrays); see advisor.training.epoch_passes.
    passes_per_epoch: float | None = None
    fit_options: Mapping[str, Any] = field(default_factory=dict)
    # The user's own callbacks (fix-added ones are ``AddCallback`` edits).
    callbacks: tuple[CallbackSpec, ...] = ()
    notes: tuple[str, ...] = ()
    edits: tuple[PlanEdit, ...] = ()

    @property
    def applied_fixes(self) -> tuple[str, ...]:
        """The fixes that changed this plan, in the order they were applied."""
        return tuple(dict.fromkeys(edit.fix for edit in self.edits))

    def edits_of(self, kind: type[E]) -> tuple[E, ...]:
        """The edits of one type, in order."""
        return tuple(edit for edit in self.edits if isinstance(edit, kind))

    def with_edits(self, *edits: PlanEdit) -> TrainingPlan:
        return replace(self, edits=(*self.edits, *edits))

    @property
    def fit_epochs(self) -> int:
        """The epoch budget the fit runs: the last ``SetEpochs``, else ``epochs``."""
        budgets = self.edits_of(SetEpochs)
        return budgets[-1].epochs if budgets else self.epochs

    @property
    def penalised(self) -> bool:
        """A kernel penalty is added, so Keras' ``val_loss`` includes it."""
        return any(edit.l1 or edit.l2 for edit in self.edits_of(KernelPenalty))

    def all_callbacks(self) -> tuple[CallbackSpec, ...]:
        """The user's callbacks and the fixes' ``AddCallback`` ones, as the fit builds them.

        Under a kernel penalty every ``val_loss`` monitor (the user's included) watches the
        penalty-free ``val_task_loss`` instead: otherwise the penalty itself would stop or
        decay training."""
        specs = (*self.callbacks, *(edit.callback for edit in self.edits_of(AddCallback)))
        if not self.penalised:
            return specs
        return tuple(_penalty_free(spec) for spec in specs)

    @property
    def compiled(self) -> CompileSettings:
        """The compile settings the fit uses: the user's, with the optimizer a
        ``ReplaceOptimizer`` chose and the loss a ``ReplaceHead`` chose (the learning-rate
        factor and clipping are applied when the optimizer is built)."""
        settings = self.compile
        for optimizer in self.edits_of(ReplaceOptimizer):
            settings = replace(settings, optimizer=optimizer.optimizer)
        for head in self.edits_of(ReplaceHead):
            if head.loss is not None:
                settings = replace(settings, loss=head.loss)
        return settings

    @property
    def watches_validation(self) -> bool:
        """A callback of the fit (early stopping, LR decay) monitors a validation series."""
        return any(
            str(c.kwargs.get("monitor", "")).startswith("val_") for c in self.all_callbacks()
        )

    @property
    def moves_validation(self) -> bool:
        """An edit (a shuffled ``validation_split``) makes the fit validate on other rows than
        the script's own, some of which the user's plan trains on."""
        return any(getattr(edit, "moves_validation", False) for edit in self.edits)

    def has_callback(self, name: str) -> bool:
        return any(spec.name == name for spec in self.all_callbacks())


def _penalty_free(spec: CallbackSpec) -> CallbackSpec:
    """``spec`` watching ``val_task_loss`` where it watched ``val_loss``. Keras infers the
    direction of an ``"auto"`` mode from the metric's name, which it cannot do for this one:
    a loss is minimised, so the mode is said (a user's EarlyStopping without ``mode`` crashed
    every fit that watched the penalty-free loss)."""
    if spec.kwargs.get("monitor") != "val_loss":
        return spec
    mode = spec.kwargs.get("mode", "auto")
    return CallbackSpec(
        spec.name,
        {**spec.kwargs, "monitor": f"val_{TASK_LOSS}", "mode": "min" if mode == "auto" else mode},
    )
