"""The search's runner interface with real Keras fits: ``report_epoch`` is called from a
callback with the epoch's ``val_loss``, and a True answer (the pruner's) stops ``fit`` there."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from advisor.findings import Finding, Severity
from advisor.search import Budget, Changes, ReportEpoch, TrialOutcome, open_space, search
from tests.search_objective import lookup

USER_EPOCHS = 2


class _Report(keras.callbacks.Callback):  # type: ignore[misc]
    def __init__(self, report_epoch: ReportEpoch) -> None:
        super().__init__()
        self.report_epoch = report_epoch

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.report_epoch(epoch + 1, float((logs or {})["val_loss"])):
            self.model.stop_training = True


def _runner(fits: list[int]) -> Callable[[Changes, ReportEpoch], TrialOutcome]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 3)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("float32")

    def run_trial(changes: Changes, report_epoch: ReportEpoch) -> TrialOutcome:
        keras.utils.set_random_seed(0)
        activation = str(changes.get("relu-he", {}).get("activation", "tanh"))
        factor = float(changes.get("lower-lr", {}).get("factor", 1.0))
        model = keras.Sequential(
            [keras.Input((3,)), keras.layers.Dense(4, activation=activation),
             keras.layers.Dense(1, activation="sigmoid")]
        )
        model.compile(optimizer=keras.optimizers.SGD(0.1 * factor), loss="binary_crossentropy")
        history = model.fit(
            x[:16], y[:16], validation_data=(x[16:], y[16:]), epochs=USER_EPOCHS, batch_size=8,
            verbose=0, callbacks=[_Report(report_epoch)],
        )
        curve = tuple(float(v) for v in history.history["val_loss"])
        fits.append(len(curve))
        return TrialOutcome(curve[-1], len(curve), pruned=len(curve) < USER_EPOCHS, curve=curve)

    return run_trial


def test_real_fits_report_each_epoch_and_stop_when_told() -> None:
    fits: list[int] = []
    run_trial = _runner(fits)
    probe = run_trial({}, lambda epoch, loss: False)
    finding = Finding("stalled", "TST001", Severity.WARNING, "", fixes=("lower-lr", "relu-he"))
    space = open_space([finding], lookup)
    budget = Budget(user_epochs=USER_EPOCHS, multiple=2)  # room for two trials
    result = search(space, budget, run_trial, baseline=probe)

    assert [(dict(t.changes), t.state, t.epochs) for t in result.trials] == [
        ({}, "reused", 0),
        ({"lower-lr": {"factor": 0.1}}, "complete", 2),
        # worse than the first at epoch 1: the pruner stopped its fit there
        ({"relu-he": {"activation": "relu"}}, "pruned", 1),
    ]
    assert fits[1:] == [2, 1] and result.epochs_spent == 3 <= budget.epochs
    finished = [t for t in result.trials if t.finished]
    assert result.trials[0].loss == probe.loss and all(math.isfinite(t.loss) for t in finished)
    assert result.best == min(finished, key=lambda t: t.loss)  # a pruned trial cannot win
