"""TensorFlow and the statistics libraries are an extra: ask for them by name when missing.

``advisor check``, ``rules`` and ``explain`` need only NumPy and Rich, so the pre-commit check
hook installs in seconds; training (``advisor diagnose``, ``advise()``) needs the
``tensorflow`` extra. Without it the user gets one line naming what is missing and the command
that installs it, instead of an ``ImportError`` from deep inside the training code.
"""

from __future__ import annotations

from importlib.util import find_spec

from advisor.errors import AdvisorError

# Import name -> the name a person knows it by; all of them come with the extra below.
TRAINING_PACKAGES = {"tensorflow": "TensorFlow", "sklearn": "scikit-learn", "scipy": "SciPy"}
INSTALL = "pip install 'fit-advisor[tensorflow]'"


def require_training_stack(what: str) -> None:
    """Raise :class:`AdvisorError` if a package ``what`` trains with is not installed."""
    missing = [name for module, name in TRAINING_PACKAGES.items() if find_spec(module) is None]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise AdvisorError(
            f"{what} trains models and needs {' and '.join(missing)}, which {verb} not "
            f"installed: {INSTALL}"
        )
