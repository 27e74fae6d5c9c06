"""``advise(model, data)``: the diagnose path from Python, for notebooks and tests.

The model must be compiled; it is only read (cloned with fresh weights for every fit), never
trained or recompiled. Compile arguments are read from the model as the user gave them.
"""

from __future__ import annotations

from typing import Any

import keras
from rich.console import Console

import advisor.report.summary  # noqa: F401  (installs the renderers print(report) uses)
from advisor.capture.fit_data import DEFAULT_MAX_SAMPLES, fit_data
from advisor.capture.plan_builder import PlanRequest
from advisor.capture.script import CompileCall
from advisor.errors import AdvisorError, checked_seed
from advisor.outcomes.report import AdviceReport
from advisor.pipeline import AdviceOptions, run_advice
from advisor.registry import load_catalogue
from advisor.search.trials import DEFAULT_BUDGET_MULTIPLE

DEFAULT_EPOCHS = 20


def advise(
    model: Any,
    data: Any,
    *,
    validation_data: Any = None,
    validation_split: float = 0.0,
    epochs: int = DEFAULT_EPOCHS,
    batch_size: int | None = None,
    seed: int = 0,
    fix: bool = True,
    repeats: int = 1,
    budget: float = DEFAULT_BUDGET_MULTIPLE,
    select: tuple[str, ...] = (),
    ignore: tuple[str, ...] = (),
    progress: bool = True,
    max_samples: int = DEFAULT_MAX_SAMPLES,
) -> AdviceReport:
    """Probe-train a copy of ``model`` on ``data`` (``(x, y)`` or a dataset), diagnose it, and
    unless ``fix=False`` apply the fixes, retrain and measure; returns the report.

    Without ``validation_data`` or ``validation_split`` the advisor holds out its own
    validation slice and says so in the report's notes. ``budget`` is the epochs the search
    over fixes may train, in multiples of ``epochs``. A dataset holding more than
    ``max_samples`` samples is streamed to every fit, never read into memory whole.
    """
    checked_seed(seed)
    request = plan_request(
        model,
        data,
        validation_data=validation_data,
        validation_split=validation_split,
        epochs=epochs,
        batch_size=batch_size,
        max_samples=max_samples,
    )
    options = AdviceOptions(
        seed=seed,
        fix=fix,
        repeats=repeats,
        budget=budget,
        refit=fix,
        rules=load_catalogue().selection(select, ignore),
        progress=Console(stderr=True) if progress else None,
    )
    return run_advice(request, source="advise()", options=options)


def plan_request(
    model: Any,
    data: Any,
    *,
    validation_data: Any = None,
    validation_split: float = 0.0,
    epochs: int = DEFAULT_EPOCHS,
    batch_size: int | None = None,
    max_samples: int = DEFAULT_MAX_SAMPLES,
) -> PlanRequest:
    """What a script's ``fit`` call would have said, read from a compiled model and its data."""
    if not isinstance(model, keras.Model):
        raise AdvisorError(f"advise() needs a keras.Model, got {type(model).__name__}")
    compile_config = getattr(model, "_compile_config", None)
    if not getattr(model, "compiled", False) or compile_config is None:
        raise AdvisorError("the model is not compiled; call model.compile(optimizer=..., loss=...)")
    snapshot = dict(keras.saving.serialize_keras_object(model.optimizer))
    args = tuple(data) if isinstance(data, tuple) else (data,)
    kwargs: dict[str, Any] = {
        "epochs": epochs,
        "batch_size": batch_size,
        "validation_data": validation_data,
        "validation_split": validation_split,
    }
    return PlanRequest(
        model=model,
        compile=CompileCall(kwargs=dict(compile_config.config), optimizer=snapshot),
        data=fit_data(args, kwargs, max_samples=max_samples),
        fit_kwargs=kwargs,
        epochs=epochs,
    )
