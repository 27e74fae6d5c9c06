"""Turn a captured ``fit`` call (or the arguments of ``advise``) into a :class:`TrainingPlan`.

The plan keeps what the user asked for: compile arguments as given, their epochs and batch
size, and the callbacks that shape training (``EarlyStopping``, ``ReduceLROnPlateau``). Callbacks
that write files (checkpoints, logs) are left out, so the advisor never writes into the user's
folders; the plan's notes say so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from advisor.arrays import is_several
from advisor.capture.fit_data import FitData, split
from advisor.capture.script import CompileCall
from advisor.plan import CallbackSpec, CompileSettings, ModelRecipe, TrainingPlan
from advisor.training.rebuild import (
    model_kind,
    normalizes_inputs,
    rewrite_sites,
    token_inputs,
)

MAX_PROBE_EPOCHS = 40
MIN_PROBE_EPOCHS = 2
KERAS_DEFAULT_BATCH_SIZE = 32

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
    user_epochs = int(request.fit_kwargs.get("epochs", 1))
    epochs = request.epochs or min(max(user_epochs, MIN_PROBE_EPOCHS), MAX_PROBE_EPOCHS)
    if epochs != user_epochs:
        notes.append(f"the script trains for {user_epochs} epochs; the advisor's fits use {epochs}")
    callbacks, dropped = _callback_specs(request.fit_kwargs.get("callbacks") or ())
    if dropped:
        notes.append(f"callbacks left out of the advisor's fits: {', '.join(dropped)}")
    given = request.compile.kwargs
    dropout_sites, l2_sites = rewrite_sites(request.model) or (None, None)
    return TrainingPlan(
        model=ModelRecipe(
            kind=model_kind(request.model),
            source=request.model,
            normalizes_inputs=normalizes_inputs(request.model),
            token_inputs=token_inputs(request.model, request.data.x),
            dropout_sites=dropout_sites,
            l2_sites=l2_sites,
        ),
        compile=CompileSettings(
            optimizer=request.compile.optimizer,
            loss=given.get("loss"),
            metrics=tuple(_as_sequence(given.get("metrics"))),
            other={k: v for k, v in given.items() if k not in ("optimizer", "loss", "metrics")},
        ),
        data=data,
        epochs=epochs,
        batch_size=request.data.batch_size or KERAS_DEFAULT_BATCH_SIZE,
        fit_options={
            k: request.fit_kwargs[k] for k in _PASSED_FIT_OPTIONS if k in request.fit_kwargs
        },
        callbacks=callbacks,
        notes=tuple(notes),
    )


def infer_n_classes(plan: TrainingPlan) -> int | None:
    """Classes of a classification task, from the loss name and the targets; None otherwise."""
    loss = plan.compile.loss
    name = (loss if isinstance(loss, str) else type(loss).__name__).lower()
    if "binary" in name:
        return 2
    if "categorical" not in name:
        return None
    if is_several(plan.data.y_train):
        return None  # several heads: no single chance level
    y = np.asarray(plan.data.y_train)
    if "sparse" in name:
        return int(np.nanmax(y)) + 1
    return int(y.shape[-1])


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


def _as_sequence(metrics: Any) -> Sequence[Any]:
    if metrics is None:
        return ()
    if isinstance(metrics, list | tuple):
        return metrics
    return (metrics,)
