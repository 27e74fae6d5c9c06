"""Run a user's training script unmodified and capture its first ``model.fit`` call.

The script runs as ``python script.py`` would run it: as ``__main__``, with its folder first on
``sys.path`` and its own ``argv``, in the caller's working directory; what it prints goes to
stderr, so that the advisor's stdout stays a clean report. ``keras.Model.compile`` is
wrapped to remember the arguments exactly as the user gave them (an optimizer's config is read
before any training changes it), and ``keras.Model.fit`` is replaced by a function that records
its arguments and stops the script, so the user's full training never runs. Everything patched
is restored afterwards, whatever the script did.
"""

from __future__ import annotations

import contextlib
import runpy
import sys
import traceback
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras

from advisor.errors import AdvisorError


@dataclass(frozen=True)
class CompileCall:
    """``compile`` arguments as given; ``optimizer`` serialised at call time (never trained)."""

    kwargs: Mapping[str, Any]
    optimizer: Mapping[str, Any] | str


@dataclass(frozen=True)
class FitCall:
    """The user's model, how it was compiled, and the arguments of its first ``fit``."""

    model: Any
    compile: CompileCall | None
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]
    where: str


class _FitReached(BaseException):
    """Raised from the patched ``fit`` to stop the script; a BaseException so that a user's
    ``except Exception`` around ``fit`` cannot swallow it."""

    def __init__(self, call: FitCall) -> None:
        super().__init__()
        self.call = call


_COMPILE_ARGS = ("optimizer", "loss", "loss_weights", "metrics", "weighted_metrics")


def capture_script(script: Path, argv: Sequence[str] = ()) -> FitCall:
    """The script's first ``fit`` call, or an :class:`AdvisorError` saying why there is none."""
    path = script.resolve()
    if not path.is_file():
        raise AdvisorError(f"{script}: no such file")
    compiled: weakref.WeakKeyDictionary[Any, CompileCall] = weakref.WeakKeyDictionary()
    # The script's prints go to stderr: stdout carries the report (JSON must stay parseable).
    with (
        _script_environment(path, argv),
        _patched_keras(compiled, path),
        contextlib.redirect_stdout(sys.stderr),
    ):
        try:
            runpy.run_path(str(path), run_name="__main__")
        except _FitReached as reached:
            return _compiled_call(reached.call)
        except SyntaxError as error:
            raise AdvisorError(
                f"{script}:{error.lineno}: SyntaxError: {error.msg}; the script cannot run"
            ) from None
        except SystemExit as error:
            raise AdvisorError(
                f"{script}: the script exited (code {error.code}) before calling model.fit()"
            ) from None
        except Exception as error:
            raise AdvisorError(
                f"{_location(error, path, script)}: the script raised "
                f"{type(error).__name__}: {error}"
            ) from None
    raise AdvisorError(
        f"{script}: the script finished without calling model.fit(); nothing to diagnose"
    )


def _compiled_call(call: FitCall) -> FitCall:
    if call.compile is None:
        raise AdvisorError(
            f"{call.where}: model.fit() was called on a model that was never compiled; "
            "call model.compile(optimizer=..., loss=...) first"
        )
    return call


def _location(error: BaseException, path: Path, shown: Path) -> str:
    """``script.py:LINE`` of the deepest frame in the user's script, where the error surfaced."""
    lines = [
        frame.lineno
        for frame in traceback.extract_tb(error.__traceback__)
        if Path(frame.filename).resolve() == path
    ]
    return f"{shown}:{lines[-1]}" if lines else str(shown)


def _caller_line(path: Path) -> str:
    for frame in reversed(traceback.extract_stack()):
        if Path(frame.filename).resolve() == path:
            return f"{path.name}:{frame.lineno}"
    return path.name


@contextmanager
def _script_environment(path: Path, argv: Sequence[str]) -> Iterator[None]:
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    sys.argv = [str(path), *argv]
    sys.path.insert(0, str(path.parent))
    try:
        yield
    finally:
        sys.argv[:] = saved_argv
        sys.path[:] = saved_path


@contextmanager
def _patched_keras(
    compiled: weakref.WeakKeyDictionary[Any, CompileCall], path: Path
) -> Iterator[None]:
    original_compile = keras.Model.compile
    original_fit = keras.Model.fit

    def compile_and_remember(model: Any, *args: Any, **kwargs: Any) -> Any:
        given = dict(zip(_COMPILE_ARGS, args, strict=False)) | kwargs
        compiled[model] = CompileCall(kwargs=given, optimizer=_optimizer_snapshot(given))
        return original_compile(model, *args, **kwargs)

    def intercept_fit(model: Any, *args: Any, **kwargs: Any) -> Any:
        call = compiled.get(model) if getattr(model, "compiled", False) else None
        raise _FitReached(
            FitCall(model=model, compile=call, args=args, kwargs=kwargs, where=_caller_line(path))
        )

    keras.Model.compile = compile_and_remember
    keras.Model.fit = intercept_fit
    try:
        yield
    finally:
        keras.Model.compile = original_compile
        keras.Model.fit = original_fit


def _optimizer_snapshot(given: Mapping[str, Any]) -> Mapping[str, Any] | str:
    """The optimizer as a string or a serialised config, read before training can change it."""
    optimizer = given.get("optimizer", "rmsprop")
    if isinstance(optimizer, str):
        return optimizer
    return dict(keras.saving.serialize_keras_object(optimizer))
