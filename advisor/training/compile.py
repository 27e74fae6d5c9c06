"""Compile a rebuilt model as the plan says: the user's settings, the compile edits walked
(learning-rate factors, a replaced optimizer, clipping, a repaired head's loss), and the
penalty-free ``task_loss`` metric that callbacks watch under a kernel penalty.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np

from advisor.model_facts import loss_kind, loss_name
from advisor.outcomes.scores import TASK_LOSS
from advisor.plan import CompileSettings, TrainingPlan
from advisor.plan_edits import ClipGradients, ScaleLearningRate


def compile_model(
    model: Any,
    plan: TrainingPlan,
    *,
    extra_metrics: Sequence[Any] = (),
) -> None:
    """Compile with the plan's settings and compile edits, and fresh optimizer, loss and metric
    objects: instances carry state."""
    settings = plan.compiled
    model.compile(
        optimizer=_optimizer(settings, plan),
        loss=fresh(settings.loss),
        metrics=_fresh_metrics(settings.metrics, extra_metrics),
        **dict(settings.other),
    )


def task_loss_metric(loss: Any) -> Any:
    """The compiled loss as a metric (logged as ``task_loss``/``val_task_loss``): Keras adds
    the L2 penalty into ``val_loss`` but not into metrics, so callbacks can watch this."""
    unreduced_loss = unreduced(loss)

    def task_loss(y_true: Any, y_pred: Any) -> Any:
        return unreduced_loss(*same_rank(y_true, y_pred))

    return keras.metrics.MeanMetricWrapper(task_loss, name=TASK_LOSS)


def unreduced(loss: Any) -> Any:
    """The loss as a function giving one value per sample (a ``Loss`` object's ``call``),
    given targets and predictions in the loss's dtype as Keras' ``Loss.__call__`` gives them:
    a user's own loss function may subtract float64 targets from float32 outputs, which
    TensorFlow refuses."""
    loss_object = keras.losses.get(fresh(loss))
    if isinstance(loss_object, keras.losses.Loss):
        function, dtype = loss_object.call, loss_object.dtype
    else:
        function, dtype = loss_object, keras.backend.floatx()

    def per_sample(y_true: Any, y_pred: Any) -> Any:
        convert = keras.ops.convert_to_tensor
        return function(convert(y_true, dtype=dtype), convert(y_pred, dtype=dtype))

    return per_sample


def same_rank(y: Any, predictions: Any) -> tuple[Any, Any]:
    """Targets of shape (n,) against outputs of shape (n, 1), as Keras' loss wrappers align them
    (a sparse target against several outputs is left alone). Arrays or tensors alike."""
    if y.ndim == predictions.ndim - 1 and predictions.shape[-1] == 1:
        return y[..., None], predictions
    if predictions.ndim == y.ndim - 1 and y.shape[-1] == 1:
        return y[..., 0], predictions
    return y, predictions


def _optimizer(settings: CompileSettings, plan: TrainingPlan) -> Any:
    """The optimizer of ``settings`` with the plan's compile edits: the learning rate times
    every ``ScaleLearningRate`` factor, and the last ``ClipGradients``' clipnorm."""
    factor = math.prod(edit.factor for edit in plan.edits_of(ScaleLearningRate))
    clips = plan.edits_of(ClipGradients)
    clipnorm = clips[-1].clipnorm if clips else None
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


def fresh(obj: Any) -> Any:
    """A new loss/metric object equal to ``obj``; names and plain functions are reused."""
    if obj is None or isinstance(obj, str) or not hasattr(obj, "get_config"):
        return obj
    try:
        return type(obj).from_config(obj.get_config())
    except Exception:  # a custom object that cannot round-trip: share it, as the user did
        return obj


def _fresh_metrics(metrics: Any, extra_metrics: Sequence[Any]) -> Any:
    """Fresh metric objects in the structure the user gave: a dict per output stays a dict
    (each value one metric or a list), a list stays a list. The extra ``task_loss`` metric
    suits a single loss only, so a dict of metrics goes without it."""
    if isinstance(metrics, Mapping):
        return {
            name: [fresh(m) for m in value] if isinstance(value, list | tuple) else fresh(value)
            for name, value in metrics.items()
        }
    return [*(fresh(metric) for metric in metrics), *extra_metrics] or None


def over_every_class(loss: Any, y: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """Probabilities of a head with fewer units than the labels name, over every class:
    a one-unit sigmoid's ``p`` as ``[1 - p, p]``, and 0 for each class the head cannot name.
    The user's one-unit head on three classes is then scored with the cross-entropy the
    repaired head is (classes it cannot name cost what a probability of 0 costs, clipped as
    Keras clips it), instead of the loss refusing labels beyond its units. Logits and heads
    wide enough are left alone."""
    kind = loss_kind(loss_name(loss))
    if kind not in ("sparse", "categorical") or getattr(loss, "from_logits", False):
        return predictions
    if predictions.ndim != 2 or not len(y) or (kind == "categorical" and y.ndim != 2):
        return predictions
    finite = y[np.isfinite(y)] if y.dtype.kind in "fiu" else np.zeros(0)
    if kind == "sparse" and not finite.size:
        return predictions
    classes = int(finite.max()) + 1 if kind == "sparse" else y.shape[-1]
    units = predictions.shape[-1]
    if units >= classes:
        return predictions
    if units == 1:
        predictions, units = np.concatenate([1.0 - predictions, predictions], axis=-1), 2
    padding = np.zeros((len(predictions), max(0, classes - units)), dtype=predictions.dtype)
    return np.concatenate([predictions, padding], axis=-1)
