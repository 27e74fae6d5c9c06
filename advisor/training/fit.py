"""The one place that turns a :class:`TrainingPlan` into Keras objects, trains and evaluates.

Every fit the advisor makes (probe, baseline, each candidate fix, each repeat) goes through
:func:`fit_plan`, so they differ only in what their plans say: same seed handling, same data,
same epoch budget. :func:`evaluate` measures the task's loss from predictions, so an L2 penalty
(which Keras adds into ``loss`` and ``val_loss``) never flatters or penalises a fix.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from advisor.arrays import concat_batches, for_head, is_several, map_parts, rows
from advisor.history import TrainingHistory, history_from_logs
from advisor.outcomes.scores import TASK_LOSS, Scores
from advisor.plan import KERAS_DEFAULT_BATCH_SIZE, TrainingPlan
from advisor.plan_edits import ScaleTarget, SetClassWeight, SetEpochs
from advisor.probe_stats import ProbeStats
from advisor.streams import StreamSlice
from advisor.training.compile import (
    compile_model,
    over_every_class,
    same_rank,
    task_loss_metric,
    unreduced,
)
from advisor.training.epoch_passes import epochs_of_passes
from advisor.training.instrumentation import ProbeInstrumentation
from advisor.training.lr_range import lr_range_test
from advisor.training.rebuild import fresh_model, user_world
from advisor.training.streams import keras_data, targets_and_predictions
from advisor.training.wrappers import target_moments, with_output_scale

EpochHook = Callable[[int], None]
# Keras' own default when fit is given no batch_size.
DEFAULT_BATCH_SIZE = 32
# ``report_epoch(epoch, loss)`` after each epoch (1-based) with the penalty-free validation
# loss; True stops the fit there (the search's pruner or budget said so).
ReportEpoch = Callable[[int, float], bool]

# Each fit and evaluation traces new tf.functions by design; TensorFlow's retracing warnings
# about that would only bury the report.
logging.getLogger("tensorflow").setLevel(logging.ERROR)


@dataclass(frozen=True)
class FitRequest:
    """How the fix step and the pipeline ask for a fit: the plan, the seed, a label for the
    progress bar, and whether to instrument it (the probing fit only)."""

    plan: TrainingPlan
    seed: int
    label: str
    instrument: bool = False
    report_epoch: ReportEpoch | None = None
    # An earlier fit of this plan with fewer epochs (the probe, extended): continued from
    # where it stopped when it can be (see FitOutcome.continuation), not started over.
    resume: FitOutcome | None = None


@dataclass(frozen=True)
class _Continuation:
    """What continuing a fit needs besides its model: its instrumentation and build notes."""

    instrumentation: ProbeInstrumentation | None
    notes: tuple[str, ...]


@dataclass(frozen=True)
class FitOutcome:
    """A trained model, its history, and what could not be applied when building it.

    ``probe`` holds the instrumentation's measurements when the fit was instrumented;
    ``stopped`` is True when ``report_epoch`` stopped the fit."""

    model: Any
    history: TrainingHistory
    notes: tuple[str, ...]
    probe: ProbeStats | None = None
    stopped: bool = False
    # Set when the fit ran all its epochs and its model kept its optimizer state (it was not
    # recompiled after training), so a longer fit of the same plan may continue it.
    continuation: _Continuation | None = None


FitRunner = Callable[[FitRequest], FitOutcome]


def fit_plan(
    plan: TrainingPlan,
    *,
    seed: int,
    on_epoch: EpochHook | None = None,
    instrument: bool = False,
    report_epoch: ReportEpoch | None = None,
    resume: FitOutcome | None = None,
) -> FitOutcome:
    """Train ``plan`` from fresh weights; the same seed gives the same run. With ``resume``
    (a continuable earlier fit of the plan) train on from its last epoch instead.

    ``instrument`` (the probing fit only) also measures gradients and activations on a fixed
    batch; it does not change how the model trains. ``report_epoch`` (the search's trials) is
    given each epoch's ``val_task_loss``, free of any kernel penalty, and may stop the fit."""
    keras.utils.set_random_seed(seed)
    callback_specs = plan.all_callbacks()
    # One loss can be logged without its penalty as a metric; several heads' losses cannot,
    # and then the trials report ``val_loss``.
    single_loss = not isinstance(plan.compiled.loss, Mapping | list | tuple)
    monitors_task_loss = (report_epoch is not None and single_loss) or any(
        TASK_LOSS in str(c.kwargs.get("monitor")) for c in callback_specs
    )
    scales_target = bool(plan.edits_of(ScaleTarget))
    continued = None if resume is None else resume.continuation
    if continued is not None and resume is not None:
        model, build_notes, probe = resume.model, continued.notes, continued.instrumentation
    else:
        with user_world(plan.model.source):
            rebuilt = fresh_model(plan.model, plan.edits, x_train=plan.data.x_train)
            model, build_notes = rebuilt.model, rebuilt.notes
            extra = [task_loss_metric(plan.compiled.loss)] if monitors_task_loss else []
            compile_model(model, plan, extra_metrics=extra)
        probe = (
            ProbeInstrumentation(plan.data.x_train, plan.data.y_train, seed=seed)
            if instrument
            else None
        )
    callbacks: list[Any] = [getattr(keras.callbacks, c.name)(**c.kwargs) for c in callback_specs]
    # First in the list, so that it records the last epoch before EarlyStopping restores weights.
    if probe is not None:
        callbacks.insert(0, probe)
    if on_epoch is not None:
        hook = on_epoch
        callbacks.append(
            keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: hook(epoch + 1))
        )
    reporter = None if report_epoch is None else _EpochReporter(report_epoch)
    if reporter is not None:
        callbacks.append(reporter)
    if continued is None:  # a continued fit draws on from where its random state stopped
        keras.utils.set_random_seed(seed)
    initial_epoch = 0 if continued is None or resume is None else resume.history.n_epochs
    class_weights = plan.edits_of(SetClassWeight)
    fit_options = dict(plan.fit_options)
    if class_weights:
        fit_options["class_weight"] = dict(class_weights[-1].class_weight)
    data = plan.data
    mean, std = target_moments(data.y_train) if scales_target else (0.0, 1.0)
    history = model.fit(
        **_fit_data(plan, (mean, std) if scales_target else None, fit_options),
        epochs=plan.fit_epochs,
        initial_epoch=initial_epoch,
        callbacks=callbacks,
        verbose=0,
        **fit_options,
    )
    if monitors_task_loss or scales_target:
        # The model handed out predicts in the user's units and is compiled exactly as the
        # user compiled it (no task_loss metric).
        with user_world(plan.model.source):
            if scales_target:
                model = with_output_scale(model, mean, std, data.x_train)
            compile_model(model, plan)
            # Built, so that a saved model's optimizer loads without a variable-count warning.
            model.optimizer.build(model.trainable_variables)
    logs = history.history
    if continued is not None and resume is not None:
        logs = _continued_logs(resume.history, logs)
    trained = history_from_logs(logs, source="the probing fit")
    recompiled = monitors_task_loss or scales_target
    return FitOutcome(
        model=model,
        history=trained,
        notes=(*build_notes, *_epoch_cost(plan, trained)),
        probe=None if probe is None else probe.stats(),
        stopped=reporter is not None and reporter.stopped,
        continuation=None
        if recompiled or trained.n_epochs < plan.fit_epochs
        else _Continuation(probe, build_notes),
    )


def _continued_logs(
    earlier: TrainingHistory, logs: Mapping[str, Sequence[Any]]
) -> dict[str, list[Any]]:
    """The logs of a continued fit after those of the fit it continued, epoch by epoch."""
    gap = [float("nan")] * earlier.n_epochs
    merged: dict[str, list[Any]] = {}
    for name, values in logs.items():
        series = earlier.get(name)
        merged[name] = [*(gap if series is None else series.values), *values]
    return merged


def _fit_data(
    plan: TrainingPlan, scale: tuple[Any, Any] | None, fit_options: dict[str, Any]
) -> dict[str, Any]:
    """The data arguments of ``fit``: the plan's arrays, or its streamed slices (a dataset too
    large to read, iterated anew every epoch), with targets standardised by ``scale``."""
    data = plan.data
    if data.streams is not None:
        if data.streams.class_weight and "class_weight" not in fit_options:
            fit_options["class_weight"] = dict(data.streams.class_weight)
        if isinstance(data.streams.train.source, tf.data.Dataset):
            # A tf.data pipeline shuffles (or not) by itself; Keras would only warn.
            fit_options["shuffle"] = False
        return {
            "x": keras_data(replace(data.streams.train, target_scale=scale)),
            "validation_data": keras_data(replace(data.streams.val, target_scale=scale)),
        }
    y_train, y_val = data.y_train, data.y_val
    if scale is not None:
        mean, std = scale
        y_train, y_val = (y_train - mean) / std, (y_val - mean) / std
    validation = (keras_inputs(data.x_val), y_val) + (() if data.w_val is None else (data.w_val,))
    if plan.passes_per_epoch is not None:
        fit_options["shuffle"] = False  # the dataset shuffles; Keras would only warn
        passes = epochs_of_passes(
            data.x_train, y_train, data.w_train,
            batch_size=plan.batch_size or KERAS_DEFAULT_BATCH_SIZE, passes=plan.passes_per_epoch,
        )  # fmt: skip
        return {**passes, "validation_data": validation}
    return {
        "x": keras_inputs(data.x_train),
        "y": y_train,
        "sample_weight": data.w_train,
        "validation_data": validation,
        "batch_size": plan.batch_size,
    }


class _EpochReporter(keras.callbacks.Callback):  # type: ignore[misc]
    """Hands each epoch's penalty-free validation loss to ``report_epoch`` and stops the
    fit when it answers True."""

    def __init__(self, report_epoch: ReportEpoch) -> None:
        super().__init__()
        self.report_epoch = report_epoch
        self.stopped = False

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        logged = logs or {}
        loss = float(logged.get(f"val_{TASK_LOSS}", logged.get("val_loss", float("nan"))))
        if self.report_epoch(epoch + 1, loss):
            self.stopped = True
            self.model.stop_training = True


def run(request: FitRequest, on_epoch: EpochHook | None = None) -> FitOutcome:
    """:func:`fit_plan` for a :class:`FitRequest`."""
    return fit_plan(
        request.plan,
        seed=request.seed,
        on_epoch=on_epoch,
        instrument=request.instrument,
        report_epoch=request.report_epoch,
        resume=request.resume,
    )


def suggested_lr_factor(plan: TrainingPlan, *, seed: int) -> float | None:
    """The learning-rate range test's suggestion (:mod:`advisor.training.lr_range`) on the
    plan's model and training data, as a factor of the plan's own rate; None when the sweep
    is inconclusive or the rate is a schedule (no one number to scale)."""

    def build() -> Any:
        model = fresh_model(plan.model, plan.edits, x_train=plan.data.x_train).model
        compile_model(model, plan)
        return model

    with user_world(plan.model.source):
        optimizer = build().optimizer
        # Under mixed precision the rate is the LossScaleOptimizer's inner optimizer's.
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)
        rate = getattr(optimizer, "_learning_rate", None)
        if not isinstance(rate, keras.Variable):
            return None
        suggestion = lr_range_test(
            build,
            plan.data.x_train,
            plan.data.y_train,
            batch_size=plan.batch_size or DEFAULT_BATCH_SIZE,
            seed=seed,
        )
    user_rate = float(keras.ops.convert_to_numpy(rate))
    if suggestion.inconclusive or not user_rate > 0:
        return None
    return suggestion.suggested / user_rate


def _epoch_cost(plan: TrainingPlan, history: TrainingHistory) -> tuple[str, ...]:
    """What a raised epoch budget (a ``SetEpochs`` edit) cost in this fit, in epochs run."""
    budgets = plan.edits_of(SetEpochs)
    if not budgets:
        return ()
    ran = history.n_epochs
    return (
        f"{budgets[-1].fix}: {ran} epochs run of a budget of {plan.fit_epochs} (early stopping), "
        f"{ran / plan.epochs:.2g}x the baseline's {plan.epochs}",
    )


def keras_inputs(x: Any) -> Any:
    """Inputs as Keras takes them: NumPy arrays of strings become string tensors (Keras
    refuses NumPy string and object arrays)."""
    return map_parts(x, lambda part: tf.constant(part) if part.dtype.kind in "OSU" else part)


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
    return _scores(plan, loss, y, predictions, sample_weight, scores, model)


def evaluate_streams(
    model: Any, plan: TrainingPlan, streams: Sequence[StreamSlice], *, loss: Any = None
) -> Scores:
    """:func:`evaluate` on streamed slices, read batch by batch: the per-sample losses of all
    slices together, and each metric averaged over the slices by their number of samples."""
    y_parts, predicted, weights, metrics, counts = [], [], [], [], []
    for stream in streams:
        y, predictions, w = targets_and_predictions(model, stream)
        metrics.append(model.evaluate(keras_data(stream), verbose=0, return_dict=True))
        y_parts.append(y)
        predicted.append(predictions)
        weights.append(np.ones(rows(y)) if w is None else w)
        counts.append(rows(y))
    share = np.asarray(counts, dtype=np.float64) / max(sum(counts), 1)
    averaged = {name: float(np.dot(share, [m[name] for m in metrics])) for name in metrics[0]}
    all_weights = np.concatenate(weights)
    return _scores(
        plan,
        loss,
        concat_batches(y_parts),
        concat_batches(predicted),
        None if np.all(all_weights == 1.0) else all_weights,
        averaged,
        model,
    )


def _scores(
    plan: TrainingPlan,
    loss: Any,
    y: Any,
    predictions: Any,
    sample_weight: Any,
    scores: Mapping[str, Any],
    model: Any,
) -> Scores:
    """Scores from targets and predictions: the penalty-free loss per sample (weighted as the
    user weighs samples) and Keras' metrics as evaluated."""
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
    y, predictions = same_rank(np.asarray(y), np.asarray(predictions))
    predictions = over_every_class(loss, y, predictions)
    unreduced_loss = unreduced(loss)
    values = keras.ops.convert_to_numpy(
        unreduced_loss(keras.ops.convert_to_tensor(y), keras.ops.convert_to_tensor(predictions))
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
        head_loss = for_head(loss, name, index)
        weight = 1.0 if weights is None else float(for_head(weights, name, index))
        total += weight * task_loss_per_sample(head_loss, for_head(y, name, index), output)
    return total
