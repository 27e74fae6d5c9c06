"""The probe may be shorter than the user's run, but must not miss what that run would show."""

from __future__ import annotations

import numpy as np

from advisor.capture.probe_length import epochs_note, extended_probe_epochs
from advisor.history import TrainingHistory, history_from_logs
from advisor.plan import CompileSettings, DataSplit, ModelRecipe, TrainingPlan


def plan(epochs: int, user_epochs: int) -> TrainingPlan:
    data = np.zeros((10, 3))
    return TrainingPlan(
        model=ModelRecipe(kind="sequential", source=object(), normalizes_inputs=False),
        compile=CompileSettings(optimizer="adam", loss="mse"),
        data=DataSplit(data, data, data, data, data, data, "validation_split"),
        epochs=epochs,
        user_epochs=user_epochs,
    )


def history(val_loss: list[float]) -> TrainingHistory:
    train = list(np.linspace(1.0, 0.1, len(val_loss)))
    return history_from_logs({"loss": train, "val_loss": val_loss}, source="test")


STILL_FALLING = list(np.linspace(1.0, 0.5, 40))
TURNED_UP = [*np.linspace(1.0, 0.5, 15), *np.linspace(0.5, 0.9, 25)]


def test_a_probe_whose_validation_loss_still_falls_is_extended_towards_the_users_epochs() -> None:
    assert extended_probe_epochs(plan(40, 300), history(STILL_FALLING)) == 80
    assert extended_probe_epochs(plan(160, 300), history(list(np.linspace(1, 0.5, 160)))) == 300


def test_a_probe_that_has_shown_the_turn_or_runs_the_users_epochs_is_not() -> None:
    assert extended_probe_epochs(plan(40, 300), history(TURNED_UP)) is None
    assert extended_probe_epochs(plan(40, 40), history(STILL_FALLING)) is None
    diverged = [*STILL_FALLING[:-1], float("nan")]
    assert extended_probe_epochs(plan(40, 300), history(diverged)) is None


def test_the_report_says_how_the_measured_fits_differ_from_the_users_run() -> None:
    note = epochs_note(plan(80, 300), probe_epochs=40)
    assert note is not None
    assert "trains for 300 epochs" in note and "use 80 (extended from 40" in note
    assert epochs_note(plan(40, 40), probe_epochs=40) is None
