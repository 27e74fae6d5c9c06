"""Which way a logged metric improves, from its Keras name: losses go down, scores go up.

Shared by the history rules and the comparison of baseline and fix, so both read a metric's
direction the same way (Keras' ``mode="auto"`` guesses from the same vocabulary).
"""

from __future__ import annotations

import re
from typing import Literal

from advisor.history import VALIDATION_PREFIX

Mode = Literal["min", "max"]

# Keras' own vocabulary decides the mode (`mode="auto"` guesses the same way): losses and error
# metrics are minimised, scores are maximised. Checked in this order: "accuracy_loss" is a loss.
_LOWER_IS_BETTER = re.compile(
    r"loss|error|crossentropy|hinge|poisson|logcosh|huber|divergence|"
    r"(^|_)(mse|mae|mape|msle|rmse|kld|kl)(_|$)"
)
_HIGHER_IS_BETTER = re.compile(
    r"accuracy|auc|precision|recall|f1|fbeta|iou|dice|specificity|sensitivity|"
    r"(^|_)(acc|r2|top_\d+)(_|$)"
)


def mode_of(name: str) -> Mode | None:
    """``"min"`` for losses and errors, ``"max"`` for scores, None when the name says neither."""
    base = name.removeprefix(VALIDATION_PREFIX).lower()
    if _LOWER_IS_BETTER.search(base):
        return "min"
    if _HIGHER_IS_BETTER.search(base):
        return "max"
    return None
