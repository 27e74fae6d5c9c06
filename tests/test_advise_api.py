"""``advise(model, data)`` from Python: the report object, and the user's model left alone."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import advisor
from advisor.errors import AdvisorError

RNG = np.random.default_rng(1)
X = np.column_stack([RNG.normal(0, 1, 300), RNG.normal(0, 300, 300)]).astype("float32")
Y = (X[:, 0] + X[:, 1] / 300 > 0).astype("float32")


def compiled_model() -> keras.Model:
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def test_advise_returns_a_report_with_findings_fix_and_model() -> None:
    model = compiled_model()
    weights = [w.copy() for w in model.get_weights()]
    report = advisor.advise(model, (X, Y), validation_split=0.25, epochs=6, progress=False)
    assert "scale-imbalance" in {f.rule for f in report.findings}
    payload = report.to_dict()
    assert {"findings", "fixes_applied", "baseline", "fixed", "verdict"} <= payload.keys()
    assert any("standardize" in candidate["fixes"] for candidate in payload["candidates"])
    assert report.fixed_model is not None and report.fixed_model is not model
    assert report.fixed_model.predict(X[:3], verbose=0).shape == (3, 1)
    text = str(report)  # prints itself with Rich
    assert "scale-imbalance" in text and "verdict" in text
    # The loss plot: the probe's curves and, when a fix was adopted, that fix's own training.
    assert "Loss curves" in text and "• val_loss" in text
    improvement = report.improvement
    if improvement is not None and improvement.adopted == "fixed":
        assert report.fix_history is not None
        assert f"{' + '.join(improvement.applied)}: + loss  x val_loss" in text
    else:
        assert report.fix_history is None
    # The user's model was never trained, rebuilt or recompiled.
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights(), strict=True))
    assert int(model.optimizer.iterations.numpy()) == 0


def test_advise_without_validation_holds_out_its_own(capsys: pytest.CaptureFixture[str]) -> None:
    report = advisor.advise(compiled_model(), (X, Y), epochs=3, fix=False, progress=False)
    assert report.improvement is None and report.fixed_model is None
    assert any("holds out 20%" in note for note in report.notes)


def test_advise_refuses_an_uncompiled_model() -> None:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    with pytest.raises(AdvisorError, match="not compiled"):
        advisor.advise(model, (X, Y))
