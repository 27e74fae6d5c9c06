"""The one place that turns a :class:`TrainingPlan` into Keras objects, trains and evaluates.

Every fit the advisor makes (probe, baseline, each candidate fix, each repeat) goes through
:func:`fit_plan`, so they differ only in what their plans say: same seed handling, same data,
same epoch budget. :func:`evaluate` measures the task's loss from predictions, so an L2 penalty
(which Keras adds into ``loss`` and ``val_loss``) never flatters or penalises a fix.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from advisor.arrays import is_several, map_parts
from advisor.fixes.catalogue import TASK_LOSS
from advisor.fixes.comparison import Scores
from advisor.history import TrainingHistory, history_from_logs
from advisor.plan import CompileSettings, TrainingPlan
from advisor.probe_stats import ProbeStats
from advisor.training.instrumentation import ProbeInstrumentation
from advisor.training.rebuild import (
    fresh_model,
    target_moments,
    user_world,
    with_output_scale,
)

EpochHook = Callable[[int], None]
# How the fix step asks for a fit: plan, seed, and a label for the progress bar.
FitRunner = Callable[["TrainingPlan", int, str], "FitOutcome"]

# Each fit and evaluation traces new tf.functions by design; TensorFlow's retracing warnings
# about that would only bury the report.
logging.getLogger("tensorflow").setLevel(logging.ERROR)


@dataclass(frozen=True)
class FitOutcome:
    """A trained model, its history, and what could not be applied when building it.

    ``probe`` holds the instrumentation's measurements when the fit was instrumented."""

    model: Any
    history: TrainingHistory
    notes: tuple[str, ...]
    probe: ProbeStats | None = None


def fit_plan(
    plan: TrainingPlan,
    *,
    seed: int,
    on_epoch: EpochHook | None = None,
    instrument: bool = False,
) -> FitOutcome:
    """Train ``plan`` from fresh weights; the same seed gives the same run.

    ``instrument`` (the probing fit only) also measures gradients and activations on a fixed
    batch; it does not change how the model trains."""
    keras.utils.set_random_seed(seed)
    settings = plan.compile
    if plan.head is not None and plan.head.loss is not None:
        settings = replace(settings, loss=plan.head.loss)
    monitors_task_loss = any(TASK_LOSS in str(c.kwargs.get("monitor")) for c in plan.callbacks)
    with user_world(plan.model.source):
        rebuilt = fresh_model(
            plan.model,
            dropout_rate=plan.dropout_rate,
            l2=plan.l2,
            input_steps=plan.input_steps,
            x_train=plan.data.x_train if plan.input_steps else None,
            head=plan.head,
            l1=plan.l1,
            activation_swap=plan.activation_swap,
            batch_norm=plan.batch_norm,
            augmentation=plan.augmentation,
        )
        model = rebuilt.model
        compile_model(
            model,
            settings,
            learning_rate_factor=plan.learning_rate_factor,
            clipnorm=plan.clipnorm,
            extra_metrics=[_task_loss_metric(settings.loss)] if monitors_task_loss else [],
        )
    callbacks: list[Any] = [getattr(keras.callbacks, c.name)(**c.kwargs) for c in plan.callbacks]
    # First in the list, so that it records the last epoch before EarlyStopping restores weights.
    probe = (
        ProbeInstrumentation(plan.data.x_train, plan.data.y_train, seed=seed)
        if instrument
        else None
    )
    if probe is not None:
        callbacks.insert(0, probe)
    if on_epoch is not None:
        hook = on_epoch
        callbacks.append(
            keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: hook(epoch + 1))
        )
    keras.utils.set_random_seed(seed)
    data = plan.data
    y_train, y_val = data.y_train, data.y_val
    if plan.target_scaling:
        mean, std = target_moments(y_train)
        y_train, y_val = (y_train - mean) / std, (y_val - mean) / std
    validation = (keras_inputs(data.x_val), y_val) + (() if data.w_val is None else (data.w_val,))
    history = model.fit(
        keras_inputs(data.x_train),
        y_train,
        sample_weight=data.w_train,
        validation_data=validation,
        epochs=plan.epochs,
        batch_size=plan.batch_size,
        callbacks=callbacks,
        verbose=0,
        **dict(plan.fit_options),
    )
    if monitors_task_loss or plan.target_scaling:
        # The model handed out predicts in the user's units and is compiled exactly as the
        # user compiled it (no task_loss metric).
        with user_world(plan.model.source):
            if plan.target_scaling:
                model = with_output_scale(model, mean, std, data.x_train)
            compile_model(
                model,
                settings,
                learning_rate_factor=plan.learning_rate_factor,
                clipnorm=plan.clipnorm,
            )
            # Built, so that a saved model's optimizer loads without a variable-count warning.
            model.optimizer.build(model.trainable_variables)
    trained = history_from_logs(history.history, source="the probing fit")
    return FitOutcome(
        model=model,
        history=trained,
        notes=(*rebuilt.notes, *_epoch_cost(plan, trained)),
        probe=None if probe is None else probe.stats(),
    )


def _epoch_cost(plan: TrainingPlan, history: TrainingHistory) -> tuple[str, ...]:
    """What a raised epoch budget (train-longer) cost in this fit, in epochs actually run."""
    if plan.baseline_epochs is None:
        return ()
    ran = history.n_epochs
    return (
        f"train-longer: {ran} epochs run of a budget of {plan.epochs} (early stopping), "
        f"{ran / plan.baseline_epochs:.2g}x the baseline's {plan.baseline_epochs}",
    )


def keras_inputs(x: Any) -> Any:
    """Inputs as Keras takes them: NumPy arrays of strings become string tensors (Keras
    refuses NumPy string and object arrays)."""
    return map_parts(x, lambda part: tf.constant(part) if part.dtype.kind in "OSU" else part)


def compile_model(
    model: Any,
    settings: CompileSettings,
    *,
    learning_rate_factor: float = 1.0,
    extra_metrics: Sequence[Any] = (),
    clipnorm: float | None = None,
) -> None:
    """Compile with fresh optimizer, loss and metric objects: instances carry state."""
    model.compile(
        optimizer=_optimizer(settings, learning_rate_factor, clipnorm),
        loss=_fresh(settings.loss),
        metrics=[*(_fresh(metric) for metric in settings.metrics), *extra_metrics] or None,
        **dict(settings.other),
    )


def _task_loss_metric(loss: Any) -> Any:
    """The compiled loss as a metric (logged as ``task_loss``/``val_task_loss``): Keras adds
    the L2 penalty into ``val_loss`` but not into metrics, so callbacks can watch this."""
    unreduced = _unreduced(loss)

    def task_loss(y_true: Any, y_pred: Any) -> Any:
        return unreduced(*_same_rank(y_true, y_pred))

    return keras.metrics.MeanMetricWrapper(task_loss, name=TASK_LOSS)


def _unreduced(loss: Any) -> Any:
    """The loss as a function giving one value per sample (a ``Loss`` object's ``call``)."""
    fresh = keras.losses.get(_fresh(loss))
    return fresh.call if isinstance(fresh, keras.losses.Loss) else fresh


def evaluate(
    model: Any,
    plan: TrainingPlan,
    x: Any,
    y: Any,
    *,
    sample_weight: Any = None,
    loss: Any = None,
) -> Scores:
    """Score ``model`` on ``(x, y)``; the loss is recomputed from predictions because Keras'
    ``evaluate`` adds the L2 penalty into ``loss``. ``loss`` (default: the plan's compiled
    one) lets models trained with different losses be scored with the same function.

    With ``sample_weight`` each sample's loss is scaled by its weight over the mean weight,
    so the mean of the per-sample losses is the weighted loss and the paired tests on them
    compare what the user's weighted objective compares."""
    x = keras_inputs(x)
    scores = model.evaluate(
        x, y, sample_weight=sample_weight, batch_size=plan.batch_size, verbose=0, return_dict=True
    )
    predictions = model.predict(x, batch_size=plan.batch_size, verbose=0)
    per_sample = task_loss_per_sample(
        plan.compile.loss if loss is None else loss,
        y,
        predictions,
        loss_weights=plan.compile.other.get("loss_weights"),
        output_names=getattr(model, "output_names", ()),
    )
    if sample_weight is not None:
        weights = np.asarray(sample_weight, dtype=np.float64)
        per_sample = per_sample * weights / max(float(weights.mean()), np.finfo(float).tiny)
    return Scores(
        loss=float(np.mean(per_sample)),
        metrics={k: float(v) for k, v in scores.items() if k != "loss"},
        per_sample_loss=per_sample,
    )


def task_loss_per_sample(
    loss: Any,
    y: Any,
    predictions: Any,
    *,
    loss_weights: Any = None,
    output_names: Sequence[str] = (),
) -> np.ndarray:
    """The compiled loss of each sample, with no regularisation penalty added.

    With several outputs it is each head's loss weighted by ``loss_weights`` and summed, as
    Keras totals them; losses, weights and targets may each be one value, a list or a dict.

    Computed from the predicted values for every model alike. (Keras' own ``loss`` may use the
    logits behind a softmax/sigmoid output, which gives larger values for confidently wrong
    predictions than the clipped probabilities here; using one way for baseline and fix alike
    is what makes them comparable.)"""
    if is_several(predictions):
        return _heads_loss_per_sample(loss, y, predictions, loss_weights, output_names)
    y, predictions = _same_rank(np.asarray(y), np.asarray(predictions))
    unreduced = _unreduced(loss)
    values = keras.ops.convert_to_numpy(
        unreduced(keras.ops.convert_to_tensor(y), keras.ops.convert_to_tensor(predictions))
    )
    values = np.asarray(values, dtype=np.float64)
    return values.reshape(len(values), -1).mean(axis=1) if values.ndim > 1 else values


def _heads_loss_per_sample(
    loss: Any, y: Any, predictions: Any, weights: Any, output_names: Sequence[str]
) -> np.ndarray:
    names = list(predictions) if isinstance(predictions, Mapping) else list(output_names)
    outputs = [predictions[n] for n in names] if isinstance(predictions, Mapping) else predictions
    total = np.zeros(len(outputs[0]))
    for index, (name, output) in enumerate(zip(names, outputs, strict=True)):
        head_loss = _for_head(loss, name, index)
        weight = 1.0 if weights is None else float(_for_head(weights, name, index))
        total += weight * task_loss_per_sample(head_loss, _for_head(y, name, index), output)
    return total


def _for_head(values: Any, name: str, index: int) -> Any:
    if isinstance(values, Mapping):
        return values[name]
    return values[index] if isinstance(values, list | tuple) else values


def _same_rank(y: Any, predictions: Any) -> tuple[Any, Any]:
    """Targets of shape (n,) against outputs of shape (n, 1), as Keras' loss wrappers align them
    (a sparse target against several outputs is left alone). Arrays or tensors alike."""
    if y.ndim == predictions.ndim - 1 and predictions.shape[-1] == 1:
        return y[..., None], predictions
    if predictions.ndim == y.ndim - 1 and y.shape[-1] == 1:
        return y[..., 0], predictions
    return y, predictions


def _optimizer(settings: CompileSettings, factor: float, clipnorm: float | None) -> Any:
    given = settings.optimizer
    config = dict(
        keras.optimizers.serialize(keras.optimizers.get(given)) if isinstance(given, str) else given
    )
    if factor != 1.0:
        config["config"] = _scaled_learning_rate(config["config"], factor)
    if clipnorm is not None:
        config["config"] = {**config["config"], "clipnorm": clipnorm}
    # Keras replaces a schedule's config by the schedule object inside the dict it is given:
    # a copy keeps the plan's config (shared by every fit) a config.
    return keras.optimizers.deserialize(copy.deepcopy(config))


def _scaled_learning_rate(config: Mapping[str, Any], factor: float) -> dict[str, Any]:
    scaled = dict(config)
    rate = scaled["learning_rate"]
    if isinstance(rate, Mapping):  # a schedule: scale where it starts, or every step's value
        schedule = dict(rate)
        inner = dict(schedule["config"])
        if "initial_learning_rate" in inner:
            inner["initial_learning_rate"] = float(inner["initial_learning_rate"]) * factor
        if "values" in inner:  # PiecewiseConstantDecay
            inner["values"] = [float(value) * factor for value in inner["values"]]
        schedule["config"] = inner
        scaled["learning_rate"] = schedule
    else:
        scaled["learning_rate"] = float(rate) * factor
    return scaled


def _fresh(obj: Any) -> Any:
    """A new loss/metric object equal to ``obj``; names and plain functions are reused."""
    if obj is None or isinstance(obj, str) or not hasattr(obj, "get_config"):
        return obj
    try:
        return type(obj).from_config(obj.get_config())
    except Exception:  # a custom object that cannot round-trip: share it, as the user did
        return obj
