"""The code a user adds to their own code to get the adopted plan: real code, not comments.

Used where there is no script to patch (``advise()`` from Python); ``advisor diagnose`` shows
the adopted plan as a diff of the script instead (:mod:`advisor.patch`).

Read from the plan (the fixes applied, the callbacks they added, the learning rate) and, for
Dropout and L2 in a Sequential model, from the model the advisor built (its layers already
carry the Dropout and the regulariser). Every number comes from the plan, which took it from
the fix catalogue's settings, so the snippet cannot drift from what was measured. No Keras
import: the model is only read through ``layers``/``get_config``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from advisor.fixes.catalogue import TASK_LOSS
from advisor.plan import CallbackSpec, TrainingPlan

# The callbacks each fix puts in (a fix is skipped when the script already has its callback,
# so these names never collide with the user's own).
_FIX_CALLBACKS = {"early-stopping": "EarlyStopping", "lr-decay": "ReduceLROnPlateau"}
_ALIASES = {"mse": "MeanSquaredError", "mae": "MeanAbsoluteError"}
# Fixes that rewrite the layers: for a Sequential model the snippet prints the rebuilt layers.
_LAYER_FIXES = frozenset(("dropout", "l2", "elastic-net", "relu-he", "batch-norm"))
# Fixes that change the optimizer or the compiled metrics: the snippet prints ``compile``.
_COMPILE_FIXES = frozenset(
    ("lower-lr", "l2", "elastic-net", "clip-gradients", "adaptive-optimizer")
)


def code_snippet(plan: TrainingPlan, model: Any) -> str:
    """The lines to add for ``plan``; ``model`` is the advisor's model built from it."""
    lines: list[str] = []
    fixes = plan.applied_fixes
    if "impute" in fixes:
        lines += [
            "from sklearn.impute import SimpleImputer",
            "imputer = SimpleImputer(strategy='mean').fit(x_train)  # NaN -> training mean",
            "x_train = imputer.transform(x_train)  # and the same for every x you predict on",
        ]
    if _LAYER_FIXES & set(fixes) and plan.model.kind == "sequential":
        lines += _sequential(_user_part(model))
    elif _LAYER_FIXES & set(fixes):
        lines.append(f"# {_layer_rewrite(plan)} in the layers of your model")
    if "standardize" in fixes:
        lines += [
            "normalizer = keras.layers.Normalization(axis=-1)",
            "normalizer.adapt(x_train)",
            "model = keras.Sequential([keras.Input(x_train.shape[1:]), normalizer, model])",
        ]
    if "scale-target" in fixes:
        lines += [
            "y_mean, y_std = y_train.mean(), y_train.std()",
            "model.fit(x_train, (y_train - y_mean) / y_std, ...)  # validation targets alike",
            "model = keras.Sequential([model, keras.layers.Rescaling(y_std, offset=y_mean)])",
        ]
    if plan.head is not None:
        units = plan.head.units or "units"
        lines.append(
            f"outputs = keras.layers.Dense({units}, activation={plan.head.activation!r})  "
            "# as your model's output layer"
        )
        if plan.head.loss:
            lines.append(f"model.compile(optimizer=optimizer, loss={plan.head.loss!r})")
    if _COMPILE_FIXES & set(fixes):
        lines += _compile_lines(plan)
    if "train-longer" in fixes:
        fix_callbacks = {*_FIX_CALLBACKS.values()}  # train-longer stops early like early-stopping
    else:
        fix_callbacks = {_FIX_CALLBACKS[f] for f in fixes if f in _FIX_CALLBACKS}
    added = [c for c in plan.callbacks if c.name in fix_callbacks]
    epochs = f", epochs={plan.epochs}" if "train-longer" in fixes else ""
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
    if plan.dropout_rate:
        parts.append(
            f"keras.layers.Dropout({plan.dropout_rate}) after each hidden Dense, Flatten and "
            f"global pooling layer, recurrent_dropout={plan.dropout_rate} in recurrent layers"
        )
    if plan.l2 or plan.l1:
        parts.append(
            f"kernel_regularizer=keras.regularizers.L1L2(l1={plan.l1:g}, l2={plan.l2:g}) "
            "on Dense/Conv/recurrent layers"
        )
    if plan.activation_swap is not None:
        swap = plan.activation_swap
        parts.append(
            f"activation={swap.activation!r}, kernel_initializer={swap.kernel_initializer!r} "
            f"instead of {'/'.join(swap.replaced)} in hidden layers"
        )
    if plan.batch_norm:
        parts.append("keras.layers.BatchNormalization() before each hidden activation")
    return "; ".join(parts)


def _user_part(model: Any) -> Any:
    """The rebuilt user architecture inside the wrapper that runs the input steps, if any."""
    if not model.name.endswith("_with_input_steps"):  # the wrapper's name in training.rebuild
        return model
    return next(layer for layer in model.layers if hasattr(layer, "layers"))


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
    settings = plan.compile
    metrics = [_object(m, "metrics") for m in settings.metrics]
    if plan.l2 or plan.l1:
        # The loss class aligns (n,) targets with (n, 1) outputs; its metric twin does not.
        per_sample = f"keras.losses.{_class_name(settings.loss)}(reduction=None)"
        metrics.append(f"keras.metrics.MeanMetricWrapper({per_sample}, name={TASK_LOSS!r})")
    lines = _optimizer_lines(plan)
    arguments = ["optimizer=optimizer", f"loss={_object(settings.loss, 'losses')}"]
    if metrics:
        arguments.append(f"metrics=[{', '.join(metrics)}]")
    return [*lines, f"model.compile({', '.join(arguments)})"]


def _optimizer_lines(plan: TrainingPlan) -> list[str]:
    optimizer = plan.compile.optimizer
    factor = plan.learning_rate_factor
    rate = None if isinstance(optimizer, str) else optimizer.get("config", {}).get("learning_rate")
    clipnorm = f", clipnorm={plan.clipnorm:g}" if plan.clipnorm else ""
    if isinstance(rate, int | float):
        name = plan.compile.optimizer_name
        return [
            f"optimizer = keras.optimizers.{name}(learning_rate={rate * factor:.3g}{clipnorm})"
        ]
    lines = [f"optimizer = keras.optimizers.get({plan.compile.optimizer_name!r})"]
    if factor != 1.0:
        lines.append(f"optimizer.learning_rate = float(optimizer.learning_rate) * {factor:g}")
    if plan.clipnorm:
        lines.append(f"optimizer.clipnorm = {plan.clipnorm:g}")
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
