"""Run a user's training script unmodified and capture its first ``model.fit`` call.

The script runs as ``python script.py`` would run it: as ``__main__``, with its folder first on
``sys.path`` and its own ``argv``, in the caller's working directory; what it prints goes to
stderr, so that the advisor's stdout stays a clean report. ``keras.Model.compile`` is
wrapped to remember the arguments exactly as the user gave them (an optimizer's config is read
before any training changes it), and ``keras.Model.fit`` is replaced by a function that records
its arguments and stops the script, so the user's full training never runs. What would end
or outlive the capture unsaid is turned into an error: ``os._exit`` raises instead of ending
the process, and a ``fit`` in another thread stops both that thread and the script. Everything
patched is restored afterwards, whatever the script did.
"""

from __future__ import annotations

import ast
import contextlib
import ctypes
import importlib.util
import inspect
import os
import runpy
import sys
import threading
import traceback
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NoReturn

import keras

from advisor.capture.fit_loop import fit_loop, looped_fit_kwargs
from advisor.errors import AdvisorError
from advisor.keras_model.constructor_args import constructor_args_recorded


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

    def __init__(self, call: FitCall, namespace: Mapping[str, Any]) -> None:
        super().__init__()
        self.call = call
        self.namespace = namespace


class _FitInThread(BaseException):
    """Raised in a thread that called ``fit`` (to stop it), and then in the script's own
    thread (to stop the script): the advisor captures a fit only where the script runs."""


class _HardExit(BaseException):
    """Raised from the patched ``os._exit``, which would end the advisor's process unsaid."""

    def __init__(self, code: object) -> None:
        super().__init__()
        self.code = code


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
    threads = _OtherThreads()
    with (
        _script_environment(path, argv),
        _patched_keras(compiled, path, fit_number, threads),
        contextlib.redirect_stdout(sys.stderr),
    ):
        try:
            try:
                namespace = runpy.run_path(str(path), run_name="__main__")
            finally:
                threads.script_ended()
        except _FitReached as reached:
            call = _compiled_call(reached.call)
            notes = _fit_notes(path, call.where, fit_number, reached.namespace)
            loop = fit_loop(path, int(call.where.rpartition(":")[2]), reached.namespace)
            if loop is None or len(call.args) > 3:  # epochs given by position: left alone
                return replace(call, notes=notes)
            kwargs, note = looped_fit_kwargs(call.kwargs, loop, call.where)
            return replace(call, kwargs=kwargs, notes=(*notes, note))
        except _FitInThread:
            raise AdvisorError(threads.refusal()) from None
        except _HardExit as hard:
            raise AdvisorError(
                f"{_location(hard, path, script)}: the script called os._exit({hard.code}) "
                "before calling model.fit(); the advisor stopped it there"
            ) from None
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
    if threads.fits:
        raise AdvisorError(threads.refusal())
    if fit_number > 1:
        raise AdvisorError(
            f"{script}: --fit {fit_number} asks for fit call {fit_number}, but the script "
            f"made fewer ({_fit_lines_text(path, namespace) or 'no model.fit( in its source'})"
        )
    raise AdvisorError(
        f"{script}: the script finished without calling model.fit(); nothing to diagnose"
    )


def _fit_lines(path: Path, namespace: Mapping[str, Any]) -> list[int]:
    """Lines of the script's source that may call ``keras.Model.fit``: every ``.fit(...)``
    except those whose receiver the script's ``namespace`` shows is no Keras model
    (``LabelEncoder().fit(y)``, a fitted scaler)."""
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
        and _may_be_keras_model(node.func.value, namespace)
    )


_UNKNOWN = object()


def _may_be_keras_model(receiver: ast.expr, namespace: Mapping[str, Any]) -> bool:
    """False only when the receiver is known not to be a Keras model: a name bound to
    something else, or a class other than a model's called in place."""
    if isinstance(receiver, ast.Call):
        made_by = _bound_value(receiver.func, namespace)
        return not isinstance(made_by, type) or issubclass(made_by, keras.Model)
    value = _bound_value(receiver, namespace)
    return value is _UNKNOWN or isinstance(value, keras.Model)


def _bound_value(node: ast.expr, namespace: Mapping[str, Any]) -> Any:
    """What a name or dotted name is bound to in ``namespace``; :data:`_UNKNOWN` otherwise."""
    if isinstance(node, ast.Name):
        return namespace.get(node.id, _UNKNOWN)
    if isinstance(node, ast.Attribute):
        owner = _bound_value(node.value, namespace)
        if owner is _UNKNOWN:
            return _UNKNOWN
        try:
            return inspect.getattr_static(owner, node.attr)
        except AttributeError:
            return _UNKNOWN
    return _UNKNOWN


def _fit_lines_text(path: Path, namespace: Mapping[str, Any]) -> str:
    lines = _fit_lines(path, namespace)
    return f"its source calls model.fit( on lines {', '.join(map(str, lines))}" if lines else ""


def _fit_notes(
    path: Path, where: str, fit_number: int, namespace: Mapping[str, Any]
) -> tuple[str, ...]:
    notes = []
    if fit_number > 1:
        notes.append(
            f"diagnosing fit call {fit_number} ({where}); the {fit_number - 1} before it ran for "
            "real, and the advisor's fits start from fresh weights, not from what they trained"
        )
    elif len(_fit_lines(path, namespace)) > 1:
        notes.append(
            f"the script calls fit more than once ({_fit_lines_text(path, namespace)}); "
            f"this is the first ({where}): pass --fit N to diagnose call N"
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
    compiled: weakref.WeakKeyDictionary[Any, CompileCall],
    path: Path,
    fit_number: int,
    threads: _OtherThreads,
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
        if threading.get_ident() != threads.script_thread:
            threads.fit_called(f"{_caller_line(path)} (thread {threading.current_thread().name})")
            raise _FitInThread
        calls += 1
        if calls < fit_number:
            return original_fit(model, *args, **kwargs)
        call = compiled.get(model) if getattr(model, "compiled", False) else None
        raise _FitReached(
            FitCall(model=model, compile=call, args=args, kwargs=kwargs, where=_caller_line(path)),
            _caller_namespace(path),
        )

    keras.Model.compile = compile_and_remember
    keras.Model.fit = intercept_fit
    try:
        with _patched_legacy_keras(path), _patched_exits(), constructor_args_recorded():
            yield
    finally:
        keras.Model.compile = original_compile
        keras.Model.fit = original_fit


@contextmanager
def _patched_exits() -> Iterator[None]:
    """``os._exit`` raises instead of ending the process; a thread stopped at its ``fit``
    ends without a traceback on stderr."""
    original_exit, original_hook = os._exit, threading.excepthook

    def refuse_exit(status: int) -> NoReturn:
        raise _HardExit(status)

    def quiet_hook(hook_args: Any) -> None:
        if not isinstance(hook_args.exc_value, _FitInThread):
            original_hook(hook_args)

    os._exit = refuse_exit
    threading.excepthook = quiet_hook
    try:
        yield
    finally:
        os._exit, threading.excepthook = original_exit, original_hook


class _OtherThreads:
    """A ``fit`` called in a thread the script started stops that thread and, while the
    script still runs, the script's own thread too (CPython's ``PyThreadState_SetAsyncExc``
    raises there at its next instruction), so the script does not run on past a ``join()``
    with an untrained model. Once the script has ended nothing more is raised."""

    def __init__(self) -> None:
        self.script_thread = threading.get_ident()
        self.fits: list[str] = []
        self._running = True
        self._lock = threading.Lock()

    def fit_called(self, where: str) -> None:
        with self._lock:
            self.fits.append(where)
            if self._running:
                _set_async_exception(self.script_thread, ctypes.py_object(_FitInThread))

    def script_ended(self) -> None:
        with self._lock:
            self._running = False
            _set_async_exception(self.script_thread, None)  # drop one not yet raised

    def refusal(self) -> str:
        return (
            f"{self.fits[0]}: model.fit() was called in a thread other than the script's own; "
            "the advisor captures a fit only in the thread the script runs in: call fit there"
        )


def _set_async_exception(thread_id: int, exception: ctypes.py_object[Any] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), exception)


def _caller_namespace(path: Path) -> Mapping[str, Any]:
    """The names visible in the script's innermost frame (its locals over its globals)."""
    frame = sys._getframe()
    while frame is not None and Path(frame.f_code.co_filename).resolve() != path:
        frame = frame.f_back  # type: ignore[assignment]
    return {} if frame is None else {**frame.f_globals, **frame.f_locals}


def _optimizer_snapshot(given: Mapping[str, Any]) -> Mapping[str, Any] | str:
    """The optimizer as a string or a serialised config, read before training can change it."""
    optimizer = given.get("optimizer", "rmsprop")
    if isinstance(optimizer, str):
        return optimizer
    return dict(keras.saving.serialize_keras_object(optimizer))
