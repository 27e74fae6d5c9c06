"""`advisor diagnose` on the bundled scripts whose fault is inside the model (real Keras runs).

Each script is named by the rule it must trigger; before these rules existed the first passed
without a finding, the second was called `stalled` (with `standardize`, which cannot help) and
the third `plateau`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from advisor.cli import main
from tests.conftest import FIXTURES

SCRIPTS = FIXTURES / "scripts"


def _diagnose(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["diagnose", "--format", "json", *args]) == 1
    (report,) = json.loads(capsys.readouterr().out)["reports"]
    assert isinstance(report, dict)
    return report


def test_one_unit_softmax_is_found_before_training_and_repaired(
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = _diagnose(capsys, str(SCRIPTS / "output_activation_softmax.py"), "--epochs", "8")
    codes = [f["code"] for f in report["findings"]]
    assert codes[0] == "ADV301" and "ADV107" not in codes  # it explains the frozen accuracy
    # The probe is short, so underfitting's train-longer may be measured along with the repair.
    assert report["fixes_applied"][0] == "repair-head"
    assert report["fixed"]["accuracy"]["mean"] > report["baseline"]["accuracy"]["mean"] + 0.1
    assert report["verdict"]["adopted"] == "fixed"


def test_sigmoid_regression_head_is_reported_instead_of_a_stall(
    capsys: pytest.CaptureFixture[str],
) -> None:
    script = SCRIPTS / "output_activation_sigmoid.py"
    report = _diagnose(capsys, str(script), "--epochs", "8", "--no-fix")
    rules = [f["rule"] for f in report["findings"]]
    # Targets in the hundreds are also a scale problem, and their gradients explode: findings
    # of their own, beside the head that explains the stall.
    assert rules[0] == "output-activation"
    assert set(rules[1:]) <= {"target-scale", "exploding-gradients"}
    assert report["findings"][0]["evidence"]["target_max"] > 300


def test_first_epoch_blow_up_is_divergence_not_a_plateau(
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = _diagnose(
        capsys, str(SCRIPTS / "divergence_first_epoch.py"), "--epochs", "6", "--no-fix"
    )
    rules = [f["rule"] for f in report["findings"]]
    assert rules[0] == "divergence"
    assert set(rules[1:]) <= {"target-scale", "exploding-gradients"}  # causes, not symptoms
    assert report["findings"][0]["evidence"]["ratio"] >= 100


def test_a_fit_keras_refuses_still_gets_the_model_diagnosis(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["diagnose", str(SCRIPTS / "loss_targets_swapped.py")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "the probing fit failed: ValueError" in err
    assert "ADV302 loss-targets" in err and "use categorical_crossentropy" in err


def test_a_regression_loss_on_class_labels_is_named_as_the_fault(
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = _diagnose(capsys, str(SCRIPTS / "mse_on_labels.py"), "--epochs", "3", "--no-fix")
    first = report["findings"][0]
    assert first["code"] == "ADV302"  # not underfitting: the loss is the fault
    assert first["message"].startswith("the compiled loss mse is a regression loss")
    assert first["evidence"]["called_for"] == "binary_crossentropy"


@pytest.mark.parametrize(("argv", "fires"), [((), True), (("--", "--aligned"), False)])
def test_a_metric_function_that_broadcasts_its_targets_is_named(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], fires: bool
) -> None:
    """rmse written as y_true - y_pred on (n,) targets: Keras aligns them for the loss, not
    for a metric, so the logged rmse (0.23) is not the model's (0.09); aligned, it is."""
    script = str(SCRIPTS / "metric_broadcast.py")
    code = main(["diagnose", "--format", "json", script, "--epochs", "3", "--no-fix", *argv])
    (report,) = json.loads(capsys.readouterr().out)["reports"]
    named = [f for f in report["findings"] if f["rule"] == "metric-broadcast"]
    assert bool(named) == fires and code == int(fires)
    if fires:
        assert named[0]["code"] == "ADV304" and named[0]["evidence"]["metrics"] == ["rmse"]


def test_keras_own_metric_functions_align_their_targets_and_are_never_named() -> None:
    import keras
    import numpy as np

    from advisor.capture.metric_shapes import broadcasting_metrics

    def own(y_true: object, y_pred: object) -> object:
        return keras.ops.abs(y_true - y_pred)  # type: ignore[operator]

    def squeezed(y_true: object, y_pred: object) -> object:  # right for the shapes fit gives
        return keras.ops.abs(y_true - keras.ops.squeeze(y_pred, axis=-1))  # type: ignore[operator]

    y = np.linspace(0.0, 1.0, 20)
    metrics = [
        keras.metrics.mean_absolute_error,
        "mae",
        keras.metrics.RootMeanSquaredError(),
        own,
        squeezed,
    ]
    assert broadcasting_metrics(metrics, y, output_units=1) == ("own",)
    assert broadcasting_metrics(metrics, y[:, None], output_units=1) == ()
    assert broadcasting_metrics(metrics, y, output_units=3) == ()


TWO_HEADS = """
import keras
from sklearn.datasets import load_digits

x, y = load_digits(return_X_y=True)
x = x / 16.0
inputs = keras.Input(shape=(64,), name="pixels")
hidden = keras.layers.Dense(32, activation="relu")(inputs)
digit = keras.layers.Dense(10, activation="softmax", name="digit")(hidden)
odd = keras.layers.Dense(1, activation="sigmoid", name="odd")(hidden)
model = keras.Model(inputs=inputs, outputs={"digit": digit, "odd": odd})
model.compile(
    optimizer="adam",
    loss={"digit": keras.losses.SparseCategoricalCrossentropy(from_logits=LOGITS),
          "odd": "binary_crossentropy"},
    metrics={"digit": ["accuracy"], "odd": ["accuracy"]},
)
model.fit(x, {"digit": y, "odd": (y % 2).astype("float32")}, validation_split=0.2, epochs=2,
          verbose=0)
"""


@pytest.mark.parametrize("logits", [True, False])
def test_each_head_of_a_two_output_model_is_judged_by_the_model_rules(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, logits: bool
) -> None:
    """from_logits=True on the softmax 'digit' head squashes it twice: named on that head
    (which the advisor cannot repair in a model with several outputs, and says so); the
    sigmoid 'odd' head beside it, and both heads compiled right, raise nothing."""
    script = tmp_path / "train.py"
    script.write_text(TWO_HEADS.replace("LOGITS", str(logits)))
    main(["diagnose", "--format", "json", str(script), "--epochs", "2", "--no-fix"])
    (report,) = json.loads(capsys.readouterr().out)["reports"]
    named = [f for f in report["findings"] if f["rule"] == "from-logits"]
    model_rules = {"output-activation", "loss-targets", "from-logits", "metric-broadcast"}
    assert [f["rule"] for f in report["findings"] if f["rule"] in model_rules] == (
        ["from-logits"] if logits else []
    )
    if logits:
        assert named[0]["evidence"]["head"] == "digit"
        assert named[0]["message"].startswith("head 'digit': sparse_categorical_crossentropy")
