"""Turn a captured ``fit`` call (or the arguments of ``advise``) into a :class:`TrainingPlan`.

The plan keeps what the user asked for: compile arguments as given, their epochs and batch
size, and the callbacks that shape training (``EarlyStopping``, ``ReduceLROnPlateau``). Callbacks
that write files (checkpoints, logs) are left out, so the advisor never writes into the user's
folders; the plan's notes say so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from advisor.arrays import rows, take
from advisor.capture.data_split import split
from advisor.capture.fit_data import SPLIT_SEED, FitData, epochs_trained
from advisor.capture.probe_length import MAX_PROBE_EPOCHS, MIN_PROBE_EPOCHS
from advisor.capture.script import CompileCall
from advisor.keras_model.inspect import model_recipe
from advisor.keras_model.portability import export_caveat
from advisor.plan import KERAS_DEFAULT_BATCH_SIZE, CompileSettings, DataSplit, TrainingPlan
from advisor.plan_edits import CallbackSpec

# Attributes Keras keeps under the constructor's own names.
_CALLBACK_FIELDS = {
    "EarlyStopping": ("monitor", "min_delta", "patience", "mode", "restore_best_weights"),
    "ReduceLROnPlateau": (
        "monitor",
        "factor",
        "patience",
        "min_delta",
        "cooldown",
        "min_lr",
        "mode",
    ),
}
# class_weight is not passed: the data carries it as per-sample weights (see fit_data).
_PASSED_FIT_OPTIONS = ("shuffle",)
# fit arguments the advisor's fits leave at Keras' default (every fit starts at epoch 0 and
# validates each epoch, so that all runs are compared epoch for epoch), with that default.
_NOT_REPRODUCED = {"initial_epoch": 0, "validation_freq": 1}


@dataclass(frozen=True)
class PlanRequest:
    """Everything a plan is built from, whichever way in the user came."""

    model: Any
    compile: CompileCall
    data: FitData
    fit_kwargs: Mapping[str, Any]
    epochs: int | None = None


def build_plan(request: PlanRequest) -> TrainingPlan:
    """The user's run as a plan, with the probe's epoch budget (theirs, within limits)."""
    data = split(request.data)
    notes = [*request.data.notes, *data.notes]
    user_epochs = epochs_trained(request.fit_kwargs)
    epochs = request.epochs or min(max(user_epochs, MIN_PROBE_EPOCHS), MAX_PROBE_EPOCHS)
    callbacks, dropped = _callback_specs(request.fit_kwargs.get("callbacks") or ())
    if dropped:
        notes.append(f"callbacks left out of the advisor's fits: {', '.join(dropped)}")
    unmatched = _not_reproduced(request.fit_kwargs)
    if unmatched:
        notes.append(unmatched)
    caveat = export_caveat(request.model)
    if caveat is not None:
        notes.append(caveat)
    given = request.compile.kwargs
    return TrainingPlan(
        model=model_recipe(request.model, request.data.x),
        compile=CompileSettings(
            optimizer=request.compile.optimizer,
            loss=given.get("loss"),
            metrics=_metrics(given.get("metrics")),
            other={k: v for k, v in given.items() if k not in ("optimizer", "loss", "metrics")},
        ),
        data=with_selection_slice(data),
        epochs=epochs,
        user_epochs=user_epochs,
        batch_size=request.data.batch_size or KERAS_DEFAULT_BATCH_SIZE,
        passes_per_epoch=request.data.passes_per_epoch,
        fit_options={
            k: request.fit_kwargs[k] for k in _PASSED_FIT_OPTIONS if k in request.fit_kwargs
        },
        callbacks=callbacks,
        notes=tuple(notes),
    )


def with_selection_slice(data: DataSplit) -> DataSplit:
    """``data`` with a selection slice, as large as the holdout, carved at random from the
    training slice: the slice every decision is made on (which candidate, adopt or keep the
    baseline), so that the holdout only reports. Sized like the holdout, it is empty when the
    data is too small for a holdout (decisions then rest on validation alone, and the split's
    notes say how weak that is): small data is never refused for its sake. A
    ``validation_split`` script's selection slice is already drawn from all its rows (see
    :mod:`advisor.capture.data_split`)."""
    if data.streams is not None or data.x_select is not None:
        return data
    n_select = rows(data.y_holdout)
    order = np.random.default_rng(SPLIT_SEED + 1).permutation(rows(data.y_train))
    select, train = np.sort(order[:n_select]), np.sort(order[n_select:])
    w = data.w_train
    return replace(
        data,
        x_train=take(data.x_train, train),
        y_train=take(data.y_train, train),
        w_train=None if w is None else w[train],
        x_select=take(data.x_train, select),
        y_select=take(data.y_train, select),
        w_select=None if w is None else w[select],
    )


def _not_reproduced(fit_kwargs: Mapping[str, Any]) -> str | None:
    """One note naming the ``fit`` arguments the advisor's fits do not reproduce, if any."""
    given = [
        f"{name}={fit_kwargs[name]!r}"
        for name, default in _NOT_REPRODUCED.items()
        if fit_kwargs.get(name, default) != default
    ]
    if not given:
        return None
    trained = (
        f" (for the {epochs_trained(fit_kwargs)} epochs the script's fit trains)"
        if fit_kwargs.get("initial_epoch")
        else ""
    )
    return (
        f"the advisor's fits do not reproduce fit({', '.join(given)}): each starts at epoch "
        f"0{trained} and validates every epoch, so that every run is compared epoch for epoch"
    )


def _callback_specs(callbacks: Sequence[Any]) -> tuple[tuple[CallbackSpec, ...], list[str]]:
    specs: list[CallbackSpec] = []
    dropped: list[str] = []
    for callback in callbacks:
        name = type(callback).__name__
        fields = _CALLBACK_FIELDS.get(name)
        if fields is None:
            dropped.append(name)
            continue
        kwargs = {field: getattr(callback, field) for field in fields}
        # Keras keeps min_delta signed by mode; the constructor wants its magnitude.
        kwargs["min_delta"] = abs(float(kwargs["min_delta"]))
        specs.append(CallbackSpec(name, kwargs))
    return tuple(specs), dropped


def _metrics(metrics: Any) -> tuple[Any, ...] | Mapping[str, Any]:
    """``compile(metrics=...)`` as given: a dict per output stays a dict (wrapping it in a tuple
    makes Keras refuse it), a list (nested lists per output included) becomes a tuple of the
    same entries, and one metric a tuple of one."""
    if metrics is None:
        return ()
    if isinstance(metrics, Mapping):
        return dict(metrics)
    if isinstance(metrics, list | tuple):
        return tuple(metrics)
    return (metrics,)
