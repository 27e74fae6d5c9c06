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

import ast
import contextlib
import importlib.util
import runpy
import sys
import traceback
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
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
    """The user's model, how it was compiled, and the arguments of the chosen ``fit`` call."""

    model: Any
    compile: CompileCall | None
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]
    where: str
    notes: tuple[str, ...] = ()


class _FitReached(BaseException):
    """Raised from the patched ``fit`` to stop the script; a BaseException so that a user's
    ``except Exception`` around ``fit`` cannot swallow it."""

    def __init__(self, call: FitCall) -> None:
        super().__init__()
        self.call = call


_COMPILE_ARGS = ("optimizer", "loss", "loss_weights", "metrics", "weighted_metrics")


def capture_script(script: Path, argv: Sequence[str] = (), *, fit_number: int = 1) -> FitCall:
    """The script's ``fit`` call number ``fit_number`` (1 = the first), or an
    :class:`AdvisorError` saying why there is none.

    Earlier ``fit`` calls run for real, so the script reaches the chosen one in the state it
    expects; the notes say so, and name the other ``fit`` calls in the script's source.
    """
    path = script.resolve()
    if not path.is_file():
        raise AdvisorError(f"{script}: no such file")
    compiled: weakref.WeakKeyDictionary[Any, CompileCall] = weakref.WeakKeyDictionary()
    # The script's prints go to stderr: stdout carries the report (JSON must stay parseable).
    with (
        _script_environment(path, argv),
        _patched_keras(compiled, path, fit_number),
        contextlib.redirect_stdout(sys.stderr),
    ):
        try:
            runpy.run_path(str(path), run_name="__main__")
        except _FitReached as reached:
            call = _compiled_call(reached.call)
            return replace(call, notes=_fit_notes(path, call.where, fit_number))
        except _LegacyKerasFit as legacy:
            raise AdvisorError(
                f"{legacy.where}: the script trains a legacy tf_keras (Keras 2) model, which the "
                "advisor does not support; build it with Keras 3 (`import keras`, and unset "
                "TF_USE_LEGACY_KERAS) to diagnose it"
            ) from None
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
    if fit_number > 1:
        raise AdvisorError(
            f"{script}: --fit {fit_number} asks for fit call {fit_number}, but the script "
            f"made fewer ({_fit_lines_text(path) or 'no .fit( in its source'})"
        )
    raise AdvisorError(
        f"{script}: the script finished without calling model.fit(); nothing to diagnose"
    )


def _fit_lines(path: Path) -> list[int]:
    """Lines of the script's source that call a ``.fit(...)`` method."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError):
        return []
    return sorted(
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "fit"
    )


def _fit_lines_text(path: Path) -> str:
    lines = _fit_lines(path)
    return f"its source calls .fit( on lines {', '.join(map(str, lines))}" if lines else ""


def _fit_notes(path: Path, where: str, fit_number: int) -> tuple[str, ...]:
    notes = []
    if fit_number > 1:
        notes.append(
            f"diagnosing fit call {fit_number} ({where}); the {fit_number - 1} before it ran for "
            "real, and the advisor's fits start from fresh weights, not from what they trained"
        )
    elif len(_fit_lines(path)) > 1:
        notes.append(
            f"the script calls fit more than once ({_fit_lines_text(path)}); this is the first "
            f"({where}): pass --fit N to diagnose call N"
        )
    return tuple(notes)


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
    # A script's global dtype policy must not leak into the next script; the captured model's
    # layers keep theirs, and the advisor rebuilds under it (training.rebuild.user_world).
    saved_policy = keras.config.dtype_policy()
    sys.argv = [str(path), *argv]
    sys.path.insert(0, str(path.parent))
    try:
        yield
    finally:
        sys.argv[:] = saved_argv
        sys.path[:] = saved_path
        keras.config.set_dtype_policy(saved_policy)


class _LegacyKerasFit(BaseException):
    """Raised from ``tf_keras.Model.fit``: a Keras 2 model, which the advisor cannot rebuild."""

    def __init__(self, where: str) -> None:
        super().__init__()
        self.where = where


@contextmanager
def _patched_legacy_keras(path: Path) -> Iterator[None]:
    """Stop a legacy ``tf_keras`` fit before it trains, when tf_keras is installed at all."""
    if importlib.util.find_spec("tf_keras") is None:
        yield
        return
    tf_keras = importlib.import_module("tf_keras")
    original_fit = tf_keras.Model.fit

    def refuse(model: Any, *args: Any, **kwargs: Any) -> Any:
        raise _LegacyKerasFit(_caller_line(path))

    tf_keras.Model.fit = refuse
    try:
        yield
    finally:
        tf_keras.Model.fit = original_fit


@contextmanager
def _patched_keras(
    compiled: weakref.WeakKeyDictionary[Any, CompileCall], path: Path, fit_number: int
) -> Iterator[None]:
    original_compile = keras.Model.compile
    original_fit = keras.Model.fit
    calls = 0

    def compile_and_remember(model: Any, *args: Any, **kwargs: Any) -> Any:
        given = dict(zip(_COMPILE_ARGS, args, strict=False)) | kwargs
        compiled[model] = CompileCall(kwargs=given, optimizer=_optimizer_snapshot(given))
        return original_compile(model, *args, **kwargs)

    def intercept_fit(model: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls < fit_number:
            return original_fit(model, *args, **kwargs)
        call = compiled.get(model) if getattr(model, "compiled", False) else None
        raise _FitReached(
            FitCall(model=model, compile=call, args=args, kwargs=kwargs, where=_caller_line(path))
        )

    keras.Model.compile = compile_and_remember
    keras.Model.fit = intercept_fit
    try:
        with _patched_legacy_keras(path):
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
