"""Plan edits: the ordered, named steps that fixes add to a :class:`~advisor.plan.TrainingPlan`.

A fix does not add a field to the plan; it appends edits, as scikit-learn's ``Pipeline`` is an
ordered list of named steps. Three readers walk the same edits generically, each in one place:

- the rebuild (``advisor.training``) turns model edits into layers and compile edits into the
  optimizer and loss it compiles with;
- the fit turns fit edits into callbacks and an epoch budget;
- the patch (``advisor diagnose --diff``) turns each edit into a change of the user's script.

Every edit names the fix that made it (``fix``), so the report can say what each change bought
and the patch can say where a change came from. Edits are frozen plain data: no Keras here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeAlias

InputStepName = Literal["impute", "standardize"]


@dataclass(frozen=True)
class LayerSpec:
    """A built-in Keras layer by class name and keyword arguments, e.g. ``RandomZoom``."""

    name: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CallbackSpec:
    """A Keras callback by class name and keyword arguments, e.g. ``EarlyStopping``."""

    name: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)


# --- model edits: what the rebuilt model looks like ----------------------------------------------


@dataclass(frozen=True)
class PrependInputStep:
    """An input step inside the model, in front of the user's layers, fitted on the training
    inputs: ``impute`` (NaN/inf -> training mean) or ``standardize`` (a ``Normalization``)."""

    fix: str
    step: InputStepName


@dataclass(frozen=True)
class Augment:
    """Augmentation layers in front of the model (Keras runs them in training only)."""

    fix: str
    layers: tuple[LayerSpec, ...]


@dataclass(frozen=True)
class DropoutAfterHidden:
    """``Dropout(rate)`` after each hidden Dense/Flatten/global pooling layer, and
    ``recurrent_dropout=rate`` in recurrent layers."""

    fix: str
    rate: float


@dataclass(frozen=True)
class KernelPenalty:
    """``kernel_regularizer=L1L2(l1, l2)`` on Dense/Conv/recurrent layers."""

    fix: str
    l1: float = 0.0
    l2: float = 0.0


@dataclass(frozen=True)
class SwapActivation:
    """Hidden Dense/Conv layers whose activation is one of ``replaced`` get ``activation`` and
    ``kernel_initializer`` (the output layer keeps its own)."""

    fix: str
    replaced: tuple[str, ...]
    activation: str
    kernel_initializer: str


@dataclass(frozen=True)
class BatchNormBeforeActivation:
    """``BatchNormalization`` between each hidden Dense/Conv layer and its activation."""

    fix: str


@dataclass(frozen=True)
class ReplaceHead:
    """The output layer the targets call for. ``units`` None keeps the user's unit count;
    ``loss`` None keeps the user's loss (a Keras loss name otherwise, ``from_logits=False``)."""

    fix: str
    activation: str
    units: int | None = None
    loss: str | None = None


@dataclass(frozen=True)
class WidenHidden:
    """Capacity: every hidden Dense/Conv layer's ``units``/``filters`` times ``factor``, and
    ``extra_layers`` more hidden Dense layers like the last one before the head."""

    fix: str
    factor: float = 1.0
    extra_layers: int = 0


@dataclass(frozen=True)
class ScaleUserRegularisation:
    """Less regularisation: the user's own Dropout rates and kernel penalties times ``factor``."""

    fix: str
    factor: float


@dataclass(frozen=True)
class ScaleTarget:
    """Train on standardised regression targets; the model handed out maps predictions back."""

    fix: str


ModelEdit: TypeAlias = (
    PrependInputStep
    | Augment
    | DropoutAfterHidden
    | KernelPenalty
    | SwapActivation
    | BatchNormBeforeActivation
    | ReplaceHead
    | WidenHidden
    | ScaleUserRegularisation
    | ScaleTarget
)

# --- compile edits: optimizer and loss -----------------------------------------------------------


@dataclass(frozen=True)
class ScaleLearningRate:
    """The optimizer's learning rate (or a schedule's starting value) times ``factor``."""

    fix: str
    factor: float


@dataclass(frozen=True)
class ReplaceOptimizer:
    """Another optimizer, as a serialised Keras config (``{"class_name": ..., "config": ...}``)."""

    fix: str
    optimizer: Mapping[str, Any]


@dataclass(frozen=True)
class ClipGradients:
    """``clipnorm`` on the optimizer."""

    fix: str
    clipnorm: float


CompileEdit: TypeAlias = ScaleLearningRate | ReplaceOptimizer | ClipGradients

# --- fit edits: callbacks, budget and weights ----------------------------------------------------


@dataclass(frozen=True)
class AddCallback:
    """A callback added to the fit's list (``EarlyStopping``, ``ReduceLROnPlateau``)."""

    fix: str
    callback: CallbackSpec


@dataclass(frozen=True)
class SetEpochs:
    """A new epoch budget for the fit (train-longer)."""

    fix: str
    epochs: int


@dataclass(frozen=True)
class SetClassWeight:
    """``class_weight`` for the fit: class index -> weight."""

    fix: str
    class_weight: Mapping[int, float]


@dataclass(frozen=True)
class ShuffleBeforeSplit:
    """Shuffle the rows before ``validation_split`` takes its last slice. The advisor's fits
    do not read it: the fix that adds it also re-splits the plan's data
    (``DataSplit.with_shuffled_validation``, same seed); the patch of the script reads it."""

    fix: str
    seed: int = 0
    # Its fit validates on other rows than the script's own: see TrainingPlan.moves_validation.
    moves_validation: ClassVar[bool] = True


FitEdit: TypeAlias = AddCallback | SetEpochs | SetClassWeight | ShuffleBeforeSplit

PlanEdit: TypeAlias = ModelEdit | CompileEdit | FitEdit
