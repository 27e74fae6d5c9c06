"""``advisor.Monitor`` on real Keras fits: findings printed during training, stop_on, save."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import advisor
from advisor.cli import main
from advisor.outcomes.report import AdviceReport
from tests.conftest import FIXTURES

SCRIPTS = FIXTURES / "scripts"


def test_bundled_example_prints_overfitting_during_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = tmp_path / "history.json"
    monkeypatch.setattr(sys, "argv", ["monitor_noisy_labels.py", str(saved)])
    monkeypatch.syspath_prepend(str(SCRIPTS))
    runpy.run_path(str(SCRIPTS / "monitor_noisy_labels.py"), run_name="__main__")
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    overfitting = [line for line in lines if "ADV101 overfitting" in line]
    # Printed when it first appeared, and once more at the end with the whole run's numbers.
    assert len(overfitting) == 2, captured.err
    epoch = int(overfitting[0].split(" at epoch ")[1].split(":")[0])
    assert epoch < 40  # during training, not after it
    # Keras' per-epoch lines (verbose=2, stdout) go on after the finding was printed.
    assert f"Epoch {epoch + 1}/40" in captured.out
    assert "ADV101 overfitting at the end (epoch 40): " in overfitting[1]
    assert main(["check", str(saved), "--select", "overfitting"]) == 1


def _diverging_fit(
    *callbacks: keras.callbacks.Callback, epochs: int = 30
) -> keras.callbacks.History:
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x @ np.array([3.0, -2.0, 1.0, 4.0]) * 100).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=2.0), loss="mse")
    return model.fit(
        x, y, validation_split=0.25, epochs=epochs, verbose=0, callbacks=list(callbacks)
    )


def test_stop_on_error_stops_a_diverging_fit_and_save_writes_the_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "history.json"
    monitor = advisor.Monitor(stop_on="error", save=saved)
    history = _diverging_fit(monitor)
    assert monitor.stopped_by is not None and monitor.stopped_by.rule == "divergence"
    assert len(history.history["loss"]) < 30
    assert "stopped training on ADV104 divergence" in capsys.readouterr().err
    assert json.loads(saved.read_text()).keys() == history.history.keys()
    assert main(["check", str(saved), "--select", "divergence"]) == 1
    report = monitor.report()
    assert isinstance(report, AdviceReport)
    assert report.probe.epochs == len(history.history["loss"])
    assert "divergence" in {f["rule"] for f in report.to_dict()["findings"]}


def test_stopping_restores_the_best_weights_as_early_stopping_does(
    capsys: pytest.CaptureFixture[str],
) -> None:
    monitor = advisor.Monitor(stop_on="error")
    ours = _diverging_fit(monitor)
    val_loss = ours.history["val_loss"]
    stopped, best = len(val_loss), int(np.argmin(val_loss)) + 1
    assert best < stopped < 30
    # Keras' EarlyStopping on the same seeded run, with the patience that stops it where we did.
    early = keras.callbacks.EarlyStopping(patience=stopped - best, restore_best_weights=True)
    theirs = _diverging_fit(early)
    assert len(theirs.history["val_loss"]) == stopped
    assert monitor.best.epoch == early.best_epoch + 1 == best  # Keras prints best_epoch + 1
    for mine, reference in zip(ours.model.get_weights(), theirs.model.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, reference)
    err = capsys.readouterr().err
    assert f"restored the weights of epoch {best}, the best val_loss" in err
    # One numbering: the live line and report() say the same, in Keras' 1-based epochs.
    (finding,) = [f for f in monitor.report().findings if f.rule == "divergence"]
    assert f"ADV104 divergence at epoch {stopped}: {finding.message}" in err


def test_restore_best_weights_false_keeps_the_last_epochs_weights() -> None:
    restored = _diverging_fit(advisor.Monitor(stop_on="error", verbose=0)).model
    kept = _diverging_fit(advisor.Monitor(stop_on="error", restore_best_weights=False, verbose=0))
    assert len(kept.history["loss"]) < 30
    last, best = kept.model.get_weights()[0], restored.get_weights()[0]
    assert np.abs(last).max() > 10 * np.abs(best).max()  # the diverged weights, not the best


def test_findings_are_written_to_tensorboard_beside_the_users_scalars(tmp_path: Path) -> None:
    import tensorflow as tf

    monitor = advisor.Monitor(stop_on="error", log_dir=tmp_path, verbose=0)
    scalars = keras.callbacks.TensorBoard(log_dir=str(tmp_path))
    history = _diverging_fit(monitor, scalars)
    assert monitor.stopped_by is not None
    texts = {
        value.tag: (event.step, tf.make_ndarray(value.tensor).item().decode())
        for path in (tmp_path / "advisor").iterdir()
        for event in tf.compat.v1.train.summary_iterator(str(path))
        for value in event.summary.value
    }
    step, text = texts[f"{monitor.stopped_by.code} divergence"]
    stopped = len(history.history["loss"])
    assert text.startswith(f"**error ADV104 divergence** at epoch {stopped}: ")
    assert step == stopped - 1  # the step Keras' TensorBoard callback gives that epoch's scalars
    assert {"train", "validation"} <= {p.name for p in tmp_path.iterdir()}


def test_without_stop_on_the_fit_runs_all_its_epochs() -> None:
    monitor = advisor.Monitor(verbose=0)
    history = _diverging_fit(monitor, epochs=8)
    assert len(history.history["loss"]) == 8 and monitor.stopped_by is None
    report = monitor.report()
    assert "divergence" in {f.rule for f in report.findings}
    text = str(report)
    assert "your fit: 8 epochs" in text
    assert "ADV104 epoch" in text  # its loss plot marks where the loss blew up


def test_bad_arguments_are_refused_before_training_with_the_value_received(
    tmp_path: Path,
) -> None:
    with pytest.raises(ValueError, match="stop_on='fatal'"):
        advisor.Monitor(stop_on="fatal")
    with pytest.raises(ValueError, match="does not exist"):
        advisor.Monitor(save=tmp_path / "missing" / "history.json")
    with pytest.raises(ValueError, match="higher or lower 'val_custom'"):
        advisor.Monitor(stop_on="warning", monitor="val_custom")
    with pytest.raises(ValueError, match="mode='best'"):
        advisor.Monitor(mode="best")


def test_a_fit_without_validation_or_with_vector_metrics_still_trains_and_is_told_why(
    capsys: pytest.CaptureFixture[str],
) -> None:
    x = np.random.default_rng(0).normal(size=(32, 2)).astype("float32")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    # A per-class metric logs a vector, which no rule reads: it must not break the fit.
    f1 = keras.metrics.F1Score(average=None, threshold=0.5)
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=[f1])
    monitor = advisor.Monitor()
    y = (x[:, :1] > 0).astype("float32")
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[monitor])
    assert len(history.history["loss"]) == 3
    assert "no validation metrics" in capsys.readouterr().err
    assert monitor.report().findings == ()
