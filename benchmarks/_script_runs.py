"""Shared by the diagnose benchmarks: time a fixture script run plainly and through the advisor.

Not a benchmark itself (``run_all.py`` skips modules whose name starts with ``_``); imported
by ``diagnose_overhead.py``, ``fix_benefit.py`` and ``model_kinds.py``.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import runpy
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from advisor.training.fit import task_loss_per_sample

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "fixtures" / "scripts"
ADVISOR = Path(sys.executable).parent / "advisor"
QUIET = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def time_plain(script: Path, argv: Sequence[str] = ()) -> float:
    """Wall time of ``python script.py``, process start and TensorFlow import included."""
    started = time.perf_counter()
    command = [sys.executable, str(script), *argv]
    subprocess.run(command, check=True, capture_output=True, env=QUIET)
    return time.perf_counter() - started


def time_advisor(
    script: Path, *options: str, argv: Sequence[str] = ()
) -> tuple[float, dict[str, Any]]:
    """Wall time and JSON report of ``advisor diagnose --format json [options] script``."""
    command = [str(ADVISOR), "diagnose", "--format", "json", *options, str(script)]
    command += ["--", *argv] if argv else []
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=QUIET, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(command)} failed: {result.stderr.strip()[-500:]}")
    (report,) = json.loads(result.stdout)["reports"]
    return elapsed, report


@dataclass(frozen=True)
class UserRun:
    """What a fixture script did as the user runs it: its trained model, the ``(x, y)`` it
    evaluates on at the end (the test split) and its one ``fit`` call (the model as compiled,
    trained in place; the data; the keyword arguments such as ``epochs`` and ``batch_size``)."""

    model: Any
    x_test: Any
    y_test: Any
    fit_x: Any
    fit_y: Any
    fit_kwargs: dict[str, Any]


def capture_user_run(script: Path, argv: Sequence[str] = (), *, seed_offset: int = 0) -> UserRun:
    """Run ``script`` as the user would and keep what :class:`UserRun` holds.

    ``seed_offset`` is added to every ``keras.utils.set_random_seed`` the script makes, so
    the user's own run can be repeated over seeds as the advisor's are.
    """
    seen: dict[str, Any] = {}
    original_evaluate = keras.Model.evaluate
    original_fit = keras.Model.fit
    original_seed = keras.utils.set_random_seed

    def remember(model: Any, x: Any = None, y: Any = None, *args: Any, **kwargs: Any) -> Any:
        seen.update(model=model, x=x, y=y)
        return original_evaluate(model, x, y, *args, **kwargs)

    def remember_fit(model: Any, x: Any = None, y: Any = None, **kwargs: Any) -> Any:
        seen.update(fit_x=x, fit_y=y, fit_kwargs=dict(kwargs))
        return original_fit(model, x, y, **kwargs)

    keras.Model.evaluate = remember
    keras.Model.fit = remember_fit
    keras.utils.set_random_seed = lambda seed: original_seed(seed + seed_offset)
    saved_path, saved_argv = sys.path[:], sys.argv[:]
    sys.path.insert(0, str(script.parent))
    sys.argv = [str(script), *argv]
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the script's own result line
            runpy.run_path(str(script), run_name="__main__")
    finally:
        keras.Model.evaluate = original_evaluate
        keras.Model.fit = original_fit
        keras.utils.set_random_seed = original_seed
        sys.path[:], sys.argv[:] = saved_path, saved_argv
    return UserRun(
        seen["model"],
        seen["x"],
        seen["y"],
        seen.get("fit_x"),
        seen.get("fit_y"),
        seen.get("fit_kwargs", {}),
    )


def run_as_user(
    script: Path, argv: Sequence[str] = (), *, seed_offset: int = 0
) -> tuple[Any, Any, Any]:
    """The script's own trained model and the (x, y) it evaluates on at the end."""
    run = capture_user_run(script, argv, seed_offset=seed_offset)
    return run.model, run.x_test, run.y_test


def score(model: Any, x: Any, y: Any) -> tuple[np.ndarray, str, float]:
    """Per-sample task loss (no penalty), and the first compiled metric's name and value."""
    per_sample = per_sample_loss(model, x, y)
    name, value = next(iter(compiled_metrics(model, x, y).items()), ("-", math.nan))
    return per_sample, name, float(value)


def per_sample_loss(model: Any, x: Any, y: Any, loss: Any = None) -> np.ndarray:
    """The task loss of every sample of ``(x, y)``, without any regularisation penalty: the
    model's own compiled loss, or ``loss`` (a repaired head's, to score a model alike)."""
    return task_loss_per_sample(
        model.loss if loss is None else loss,
        y,
        model.predict(x, verbose=0),
        loss_weights=model._compile_config.config.get("loss_weights"),
        output_names=getattr(model, "output_names", ()),
    )


def compiled_metrics(model: Any, x: Any, y: Any) -> dict[str, float]:
    """Every compiled metric (per head for several outputs) of ``model`` on ``(x, y)``; the
    losses Keras logs beside them are left out."""
    logged = model.evaluate(x, y, verbose=0, return_dict=True)
    return {k: float(v) for k, v in logged.items() if k != "loss" and not k.endswith("_loss")}
