"""The one exception type the command line turns into a one-line message and exit code 2.

Anything the user can get wrong (a bad file, a script that raises, an uncompiled model) is
raised as an :class:`AdvisorError` with a sentence that names the file or object and says what
was expected. Any other exception is a bug in the advisor, not in the user's input.
"""

from __future__ import annotations


class AdvisorError(Exception):
    """A problem with the user's input, reported without a traceback."""


# The part of a Keras deserialisation error that names the user's actual mistake.
_KERAS_CAUSE_MARKER = "Error encountered during deserialization:"


def error_summary(error: BaseException) -> str:
    """One line from any exception (Keras and TensorFlow messages run over many lines): its
    stated cause when Keras names one, else its first paragraph, whitespace collapsed."""
    message = str(error)
    if _KERAS_CAUSE_MARKER in message:
        message = message.split(_KERAS_CAUSE_MARKER, 1)[1]
    first_paragraph = message.strip().split("\n\n", 1)[0]
    return f"{type(error).__name__}: {' '.join(first_paragraph.split())}"


# NumPy's bound, which ``keras.utils.set_random_seed`` hands every seed to.
MAX_SEED = 2**32 - 1


def checked_seed(seed: object, *, name: str = "seed") -> int:
    """``seed`` if it can seed every fit, else the :class:`AdvisorError` saying what can."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise AdvisorError(f"{name} must be a whole number from 0 to {MAX_SEED}, got {seed!r}")
    return seed
