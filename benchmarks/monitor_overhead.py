"""What ``advisor.Monitor`` costs per epoch of the user's own ``fit``, on the bundled scripts.

Each fixture script runs unmodified, in this process, with its ``fit`` given one more callback:
a :class:`advisor.Monitor` whose hooks are timed. The share is the Monitor's time over the rest
of the fit's time (the same epochs, trained as the script trains them, ``verbose=0``). The
goal is under 1 % of epoch time; exits 1 when a script misses it. Run:
``.venv/bin/python benchmarks/monitor_overhead.py``
"""

from __future__ import annotations

import contextlib
import io
import runpy
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from advisor.native_logs import import_tensorflow_quietly

import_tensorflow_quietly()

import keras  # noqa: E402

from advisor.monitor import Monitor  # noqa: E402

SCRIPTS = Path(__file__).resolve().parent.parent / "fixtures" / "scripts"
GOAL_SHARE = 0.01
CASES = (
    "overfit_noisy_labels.py",
    "overfit_digits.py",
    "unscaled_wine.py",
    "missing_values_cancer.py",
    "oscillating_lr.py",
    "healthy_iris.py",
)
HOOKS = ("on_train_begin", "on_epoch_begin", "on_epoch_end", "on_train_end")


class TimedMonitor(Monitor):
    """A Monitor that adds up the wall time of its own hooks."""

    seconds = 0.0

    def __getattribute__(self, name: str) -> Any:
        attribute = super().__getattribute__(name)
        if name not in HOOKS:
            return attribute

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return attribute(*args, **kwargs)
            finally:
                TimedMonitor.seconds += time.perf_counter() - started

        return timed


@contextlib.contextmanager
def monitored_fit(runs: list[tuple[int, float]]) -> Iterator[None]:
    """``keras.Model.fit`` with a TimedMonitor added; records (epochs, fit seconds) per call."""
    original: Callable[..., Any] = keras.Model.fit

    def fit(model: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs["callbacks"] = [*kwargs.get("callbacks", []), TimedMonitor(verbose=0)]
        kwargs["verbose"] = 0
        started = time.perf_counter()
        history = original(model, *args, **kwargs)
        runs.append((len(history.history["loss"]), time.perf_counter() - started))
        return history

    keras.Model.fit = fit
    try:
        yield
    finally:
        keras.Model.fit = original


def measure(script: Path) -> tuple[int, float, float]:
    """Epochs, fit seconds and Monitor seconds of one script's own training."""
    runs: list[tuple[int, float]] = []
    TimedMonitor.seconds = 0.0
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    sys.argv, sys.path = [str(script)], [str(script.parent), *sys.path]
    try:
        with monitored_fit(runs), contextlib.redirect_stdout(io.StringIO()):
            runpy.run_path(str(script), run_name="__main__")
    finally:
        sys.argv[:], sys.path[:] = saved_argv, saved_path
    epochs = sum(e for e, _ in runs)
    return epochs, sum(s for _, s in runs), TimedMonitor.seconds


def main() -> int:
    print(f"{'script':28} {'epochs':>6} {'epoch ms':>9} {'Monitor ms':>10} {'share':>7}")
    missed = []
    for name in CASES:
        epochs, fit_seconds, monitor_seconds = measure(SCRIPTS / name)
        training = fit_seconds - monitor_seconds
        share = monitor_seconds / training
        print(
            f"{name:28} {epochs:6d} {1000 * training / epochs:9.1f} "
            f"{1000 * monitor_seconds / epochs:10.2f} {share:7.2%}"
        )
        if share >= GOAL_SHARE:
            missed.append(name)
    missed_names = ", ".join(missed) or "none"
    print(f"goal: Monitor under {GOAL_SHARE:.0%} of epoch time; missed: {missed_names}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
