"""The code a user adds to their own code to get the adopted plan: real code, not comments.

Used where there is no script to patch (``advise()`` from Python); ``advisor diagnose`` shows
the adopted plan as a diff of the script instead (:mod:`advisor.patch`).

Read from the plan's edits (the input steps, layer rewrites, callbacks, learning rate), walked
by edit type, never by fix id, and, for layer rewrites in a Sequential model, from the model
the advisor built (its layers already carry the Dropout and the regulariser). Every number
comes from the plan's edits, so the snippet cannot drift from what was measured. No Keras
import: the model is only read through ``layers``/``get_config``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, get_args

from advisor.outcomes.scores import TASK_LOSS
from advisor.plan import TrainingPlan
from advisor.plan_edits import (
    Augment,
    BatchNormBeforeActivation,
    CallbackSpec,
    ClipGradients,
    DropoutAfterHidden,
    InputStepName,
    KernelPenalty,
    LayerSpec,
    PrependInputStep,
    ReplaceHead,
    ReplaceOptimizer,
    ScaleLearningRate,
    ScaleTarget,
    ScaleUserRegularisation,
    SetEpochs,
    SwapActivation,
    WidenHidden,
)

_ALIASES = {"mse": "MeanSquaredError", "mae": "MeanAbsoluteError"}
# Edits that rewrite the layers: for a Sequential model the snippet prints the rebuilt layers.
_LAYER_EDITS = (
    DropoutAfterHidden,
    KernelPenalty,
    SwapActivation,
    BatchNormBeforeActivation,
    WidenHidden,
    ScaleUserRegularisation,
)
# Edits that change the optimizer or the compiled metrics: the snippet prints ``compile``.
_COMPILE_EDITS = (ScaleLearningRate, ClipGradients, ReplaceOptimizer, KernelPenalty)
_IMPUTE, _STANDARDIZE = get_args(InputStepName)


def code_snippet(plan: TrainingPlan, model: Any) -> str:
    """The lines to add for ``plan``; ``model`` is the advisor's model built from it."""
    lines: list[str] = []
    steps = {edit.step for edit in plan.edits_of(PrependInputStep)}
    edits = plan.edits
    if _IMPUTE in steps:
        lines += [
            "from sklearn.impute import SimpleImputer",
            "imputer = SimpleImputer(strategy='mean').fit(x_train)  # NaN -> training mean",
            "x_train = imputer.transform(x_train)  # and the same for every x you predict on",
        ]
    layer_edits = [edit for edit in edits if isinstance(edit, _LAYER_EDITS)]
    if layer_edits and plan.model.kind == "sequential":
        lines += _sequential(_user_part(model))
    elif layer_edits:
        lines.append(f"# {_layer_rewrite(plan)} in the layers of your model")
    augmentation = [layer for edit in plan.edits_of(Augment) for layer in edit.layers]
    if augmentation:
        lines.append("augmentation = keras.Sequential([")
        lines += [f"    {_keras_layer(spec)}," for spec in augmentation]
        lines.append("])  # active in training only")
        lines.append(
            "model = keras.Sequential([keras.Input(x_train.shape[1:]), augmentation, model])"
        )
    if _STANDARDIZE in steps:
        lines += [
            "normalizer = keras.layers.Normalization(axis=-1)",
            "normalizer.adapt(x_train)",
            "model = keras.Sequential([keras.Input(x_train.shape[1:]), normalizer, model])",
        ]
    if plan.edits_of(ScaleTarget):
        lines += [
            "y_mean, y_std = y_train.mean(), y_train.std()",
            "model.fit(x_train, (y_train - y_mean) / y_std, ...)  # validation targets alike",
            "model = keras.Sequential([model, keras.layers.Rescaling(y_std, offset=y_mean)])",
        ]
    for head in plan.edits_of(ReplaceHead):
        units = head.units or "units"
        lines.append(
            f"outputs = keras.layers.Dense({units}, activation={head.activation!r})  "
            "# as your model's output layer"
        )
        if head.loss:
            lines.append(f"model.compile(optimizer=optimizer, loss={head.loss!r})")
    if any(isinstance(edit, _COMPILE_EDITS) for edit in edits):
        lines += _compile_lines(plan)
    added = plan.all_callbacks()[len(plan.callbacks) :]
    epochs = f", epochs={plan.fit_epochs}" if plan.edits_of(SetEpochs) else ""
    if added:
        lines.append("callbacks = [")
        lines += [f"    {_callback(spec)}," for spec in added]
        lines.append("]")
        lines.append(f"model.fit(...{epochs}, callbacks=callbacks)")
    elif epochs:
        lines.append(f"model.fit(...{epochs})")
    return "\n".join(lines)


def _layer_rewrite(plan: TrainingPlan) -> str:
    parts = []
    for edit in plan.edits:
        if isinstance(edit, DropoutAfterHidden):
            parts.append(
                f"keras.layers.Dropout({edit.rate}) after each hidden Dense, Flatten and "
                f"global pooling layer, recurrent_dropout={edit.rate} in recurrent layers"
            )
        elif isinstance(edit, KernelPenalty):
            parts.append(
                f"kernel_regularizer=keras.regularizers.L1L2(l1={edit.l1:g}, l2={edit.l2:g}) "
                "on Dense/Conv/recurrent layers"
            )
        elif isinstance(edit, SwapActivation):
            parts.append(
                f"activation={edit.activation!r}, kernel_initializer={edit.kernel_initializer!r}"
                f" instead of {'/'.join(edit.replaced)} in hidden layers"
            )
        elif isinstance(edit, BatchNormBeforeActivation):
            parts.append("keras.layers.BatchNormalization() before each hidden activation")
        elif isinstance(edit, WidenHidden):
            extra = (
                f", and {edit.extra_layers} more hidden Dense layers" if edit.extra_layers else ""
            )
            parts.append(f"hidden units/filters x {edit.factor:g}{extra}")
        elif isinstance(edit, ScaleUserRegularisation):
            parts.append(f"your Dropout rates and kernel penalties x {edit.factor:g}")
    return "; ".join(parts)


def _keras_layer(spec: LayerSpec) -> str:
    arguments = ", ".join(f"{k}={v!r}" for k, v in spec.kwargs.items())
    return f"keras.layers.{spec.name}({arguments})"


def _user_part(model: Any) -> Any:
    """The rebuilt user architecture inside the wrappers that run the input steps and the
    augmentation, if any (their names in training.wrappers)."""
    while model.name.endswith(("_with_input_steps", "_augmented")):
        model = next(layer for layer in model.layers if hasattr(layer, "layers"))
    return model


def _sequential(model: Any) -> list[str]:
    shape = tuple(model.inputs[0].shape[1:])
    lines = ["model = keras.Sequential(", "    [", f"        keras.Input(shape={shape}),"]
    lines += [f"        {_layer(layer)}," for layer in model.layers]
    return [*lines, "    ]", ")"]


def _layer(layer: Any) -> str:
    kind = type(layer).__name__
    config = layer.get_config()
    if kind == "Dropout":
        return f"keras.layers.Dropout({config['rate']})"
    if kind == "Dense" or kind.startswith("Conv"):
        size = (
            config["units"] if kind == "Dense" else f"{config['filters']}, {config['kernel_size']}"
        )
        arguments = [str(size)]
        if config.get("activation", "linear") != "linear":
            arguments.append(f"activation={config['activation']!r}")
        initializer = config.get("kernel_initializer")
        if isinstance(initializer, Mapping) and initializer.get("class_name") != "GlorotUniform":
            arguments.append(f"kernel_initializer={_keras_object(initializer, 'initializers')}")
        regularizer = config.get("kernel_regularizer")
        if isinstance(regularizer, Mapping):
            arguments.append(f"kernel_regularizer={_keras_object(regularizer, 'regularizers')}")
        return f"keras.layers.{kind}({', '.join(arguments)})"
    if kind == "Flatten":
        return "keras.layers.Flatten()"
    return f"keras.layers.{kind}.from_config({_plain(config)!r})"


def _keras_object(serialised: Mapping[str, Any], module: str) -> str:
    """``keras.<module>.<Class>(...)`` from a serialised Keras object (initializer, regulariser);
    the seed of an initializer is left out, as a user would write it."""
    config = {k: v for k, v in serialised.get("config", {}).items() if k != "seed"}
    arguments = ", ".join(f"{k}={v!r}" for k, v in config.items())
    return f"keras.{module}.{serialised['class_name']}({arguments})"


def _plain(config: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in ("name", "dtype", "trainable")}


def _compile_lines(plan: TrainingPlan) -> list[str]:
    """``model.compile`` as the user wrote it, with the lowered rate and, under L2, the
    penalty-free ``task_loss`` metric the callbacks monitor."""
    settings = plan.compiled
    metrics = [_object(m, "metrics") for m in settings.metrics]
    if plan.penalised:
        # The loss class aligns (n,) targets with (n, 1) outputs; its metric twin does not.
        per_sample = f"keras.losses.{_class_name(settings.loss)}(reduction=None)"
        metrics.append(f"keras.metrics.MeanMetricWrapper({per_sample}, name={TASK_LOSS!r})")
    lines = _optimizer_lines(plan)
    arguments = ["optimizer=optimizer", f"loss={_object(settings.loss, 'losses')}"]
    if metrics:
        arguments.append(f"metrics=[{', '.join(metrics)}]")
    return [*lines, f"model.compile({', '.join(arguments)})"]


def _optimizer_lines(plan: TrainingPlan) -> list[str]:
    settings = plan.compiled
    optimizer = settings.optimizer
    factor = math.prod(edit.factor for edit in plan.edits_of(ScaleLearningRate))
    clips = plan.edits_of(ClipGradients)
    clip = clips[-1].clipnorm if clips else None
    rate = None if isinstance(optimizer, str) else optimizer.get("config", {}).get("learning_rate")
    clipnorm = f", clipnorm={clip:g}" if clip else ""
    if isinstance(rate, int | float):
        name = settings.optimizer_name
        return [f"optimizer = keras.optimizers.{name}(learning_rate={rate * factor:.3g}{clipnorm})"]
    lines = [f"optimizer = keras.optimizers.get({settings.optimizer_name!r})"]
    if factor != 1.0:
        lines.append(f"optimizer.learning_rate = float(optimizer.learning_rate) * {factor:g}")
    if clip:
        lines.append(f"optimizer.clipnorm = {clip:g}")
    return lines


def _object(value: Any, module: str) -> str:
    if isinstance(value, str):
        return repr(value)
    return f"keras.{module}.{type(value).__name__}()"


def _class_name(loss: Any) -> str:
    """The Keras class of a loss given by name (``"sparse_categorical_crossentropy"`` ->
    ``SparseCategoricalCrossentropy``) or as an object."""
    if not isinstance(loss, str):
        return type(loss).__name__
    return _ALIASES.get(loss, "".join(part.capitalize() for part in loss.split("_")))


def _callback(spec: CallbackSpec) -> str:
    arguments = ", ".join(f"{k}={v!r}" for k, v in spec.kwargs.items())
    return f"keras.callbacks.{spec.name}({arguments})"
