"""The probe may be shorter than the user's run, but must not miss what that run would show."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

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


SLOW_LEARNER = """
import keras
import numpy as np
rng = np.random.default_rng(0)
x = rng.normal(size=(64, 3)).astype("float32")
y = x @ np.array([1.0, -2.0, 0.5], dtype="float32")
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.002), loss="mse")
model.fit(x, y, epochs=50, batch_size=64, validation_split=0.25, verbose=0)
"""


def test_an_extended_probe_continues_and_never_trains_more_than_the_users_epochs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from advisor.cli import main
    from advisor.training import fit

    trained: list[tuple[int, bool]] = []
    original = fit.fit_plan

    def counted(plan: TrainingPlan, **kwargs: Any) -> fit.FitOutcome:
        outcome = original(plan, **kwargs)
        resume = kwargs.get("resume")
        earlier = 0 if resume is None else resume.history.n_epochs
        trained.append((outcome.history.n_epochs - earlier, resume is not None))
        return outcome

    monkeypatch.setattr(fit, "fit_plan", counted)
    script = tmp_path / "slow.py"
    script.write_text(SLOW_LEARNER)
    code = main(["diagnose", "--no-fix", "--format", "json", str(script)])
    report = json.loads(capsys.readouterr().out)["reports"][0]
    assert code in (0, 1)
    # The probe ran 40 epochs, was still improving, and trained on for the user's last 10.
    assert trained == [(40, False), (10, True)]
    assert report["probe"]["epochs"] == 50
    # One curve of 50 epochs that goes on from epoch 40, not a restart from fresh weights.
    val_loss = report["probe"]["history"]["val_loss"]
    assert len(val_loss) == 50 and val_loss[40] <= val_loss[39] * 1.01 < val_loss[0]
