"""fit-advisor: diagnose Keras training runs, apply the fixes, retrain, and measure the gain.

Importing this package stays light (no TensorFlow): ``advise`` loads the training machinery
only when it is called, and ``Monitor`` (a Keras callback) only when it is first named, so
``advisor check`` can run as a pre-commit hook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from advisor.errors import AdvisorError
from advisor.findings import Finding, Severity
from advisor.history import TrainingHistory, as_history, load_history

if TYPE_CHECKING:
    from advisor.monitor import Monitor
    from advisor.outcomes.report import AdviceReport

__all__ = [
    "AdvisorError",
    "Finding",
    "Monitor",
    "Severity",
    "TrainingHistory",
    "__version__",
    "advise",
    "as_history",
    "load_history",
]


def advise(model: Any, data: Any, **options: Any) -> AdviceReport:
    """Diagnose a compiled Keras model on ``data`` (``(x, y)`` or a dataset), fix and retrain.

    See :func:`advisor.api.advise` for the options; this wrapper keeps TensorFlow out of
    ``import advisor``.
    """
    from advisor.training_stack import require_training_stack

    require_training_stack("advise()")
    from advisor.python_api import advise as _advise

    return _advise(model, data, **options)


def __getattr__(name: str) -> Any:
    """``advisor.Monitor`` subclasses ``keras.callbacks.Callback``: import Keras on first use.
    ``__version__`` is read from the package metadata on first use too."""
    if name == "__version__":
        from advisor.version import installed_version

        return installed_version()
    if name == "Monitor":
        from advisor.monitor import Monitor

        return Monitor
    raise AttributeError(f"module 'advisor' has no attribute {name!r}")
