"""How long the probe trains: the user's epochs within limits, extended while validation loss
is still falling. A pure decision on the plan and the probe's history: no Keras.
"""

from __future__ import annotations

import math

from advisor.history import TrainingHistory
from advisor.plan import TrainingPlan

MAX_PROBE_EPOCHS = 40
MIN_PROBE_EPOCHS = 2
# A probe shorter than the user's run is doubled (up to their epochs) while validation loss
# still reaches its best in this last share of the probe: the curve is still moving, and what
# the user's longer run would show (e.g. overfitting after epoch 40) has not happened yet.
STILL_MOVING_SHARE = 0.25


def extended_probe_epochs(plan: TrainingPlan, history: TrainingHistory) -> int | None:
    """A longer probe when the user trains longer and validation loss is still improving at
    the probe's end; None when the probe has shown what the user's run would."""
    user_epochs = plan.user_epochs or plan.epochs
    val = history.get("val_loss")
    if user_epochs <= plan.epochs or val is None or not val.values:
        return None
    values = val.values
    if not all(math.isfinite(v) for v in values):
        return None
    best = values.index(min(values))
    if best < len(values) * (1 - STILL_MOVING_SHARE):
        return None
    return min(user_epochs, 2 * plan.epochs)


def epochs_note(plan: TrainingPlan, *, probe_epochs: int) -> str | None:
    """How the measured fits' epochs differ from the user's run, in one sentence."""
    user_epochs = plan.user_epochs or plan.epochs
    if user_epochs == plan.epochs:
        return None
    extended = (
        f" (extended from {probe_epochs}: validation loss was still falling)"
        if plan.epochs != probe_epochs
        else ""
    )
    return (
        f"the script trains for {user_epochs} epochs; the advisor's measured fits use "
        f"{plan.epochs}{extended}, and a model handed out (--export) trains for {user_epochs}"
    )
