"""Inputs seen in real buggy Keras programs: odd shapes, tiny datasets, failures mid-run.

Whatever the advisor cannot do is one line on stderr and exit code 2, and findings already made
still reach the terminal and the JSON; small datasets are diagnosed, not refused.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from advisor.cli import main
from tests.conftest import FIXTURES

SCRIPTS = FIXTURES / "scripts"

RANK_ONE_INPUTS = """
import keras
import numpy as np
rng = np.random.default_rng(0)
x = rng.uniform(0, 1000, size=120).astype("float32")
y = (x > 500).astype("float32")
model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy")
model.fit(x, y, epochs=3, validation_split=0.25, verbose=0)
"""


def diagnose_json(
    capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, dict[str, Any], str]:
    """Exit code, the one report of the JSON document (with the document's ``errors``), stderr."""
    code = main(["diagnose", "--format", "json", *args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    document = json.loads(captured.out)
    (report,) = document["reports"]
    return code, {**report, "errors": document["errors"]}, captured.err


def write_script(tmp_path: Path, body: str) -> str:
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(body))
    return str(script)


def test_rank_one_inputs_to_a_one_feature_model_are_standardised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = write_script(tmp_path, RANK_ONE_INPUTS)
    code, report, _ = diagnose_json(capsys, "--epochs", "3", script)
    assert code == 1
    assert "scale-imbalance" in {f["rule"] for f in report["findings"]}
    assert "standardize" in report["fixes_applied"] or report["verdict"]["adopted"] == "baseline"
    # Standardising alone is a candidate (the stalled and probe rules may add others).
    assert ["standardize"] in [c["fixes"] for c in report["candidates"]]


def test_an_internal_error_in_the_fix_step_keeps_the_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import advisor.fixes.selection

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug\nover two lines")

    monkeypatch.setattr(advisor.fixes.selection, "improve", broken)
    script = write_script(tmp_path, RANK_ONE_INPUTS)
    code, report, err = diagnose_json(capsys, "--epochs", "3", script)
    assert code == 2
    assert "scale-imbalance" in {f["rule"] for f in report["findings"]}
    assert len(report["errors"]) == 1 and "internal error" in report["errors"][0]
    assert [line for line in err.splitlines() if line.startswith("advisor: error")] == [
        f"advisor: error: {script}: internal error in the fix step (RuntimeError: a bug over two "
        "lines); the findings above stand, run with --no-fix to skip the fixes"
    ]


def test_fifteen_rows_without_validation_are_cross_validated_with_weak_evidence_stated(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, report, _ = diagnose_json(capsys, "--epochs", "4", str(SCRIPTS / "tiny_table.py"))
    assert code in (0, 1)
    assert any("cross-validation over all 15 rows" in note for note in report["notes"])
    assert "holdout" not in report["verdict"]["statement"]
    # Every row took part in deciding, so nothing confirms: nothing is claimed as improved.
    assert report["verdict"]["result"] in ("no-fix", "not-adopted", "unconfirmed")
    if report["candidates"]:
        assert report["verdict"]["measured_on"] == "cross-validation"
        assert report["verdict"]["repeats"] == 10  # 2x repeated 5-fold over the 15 rows
        assert "no untouched holdout" in report["evidence"]


@pytest.mark.parametrize("rows", [10, 21])
def test_small_data_without_fixes_needs_only_the_probe(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rows: int
) -> None:
    body = f"""
    import keras
    import numpy as np
    x = np.random.default_rng(0).normal(size=({rows}, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(x, y, epochs=3, validation_split=0.2, verbose=0)
    """
    code, report, _ = diagnose_json(capsys, "--no-fix", write_script(tmp_path, body))
    assert code in (0, 1)
    assert report["probe"]["epochs"] == 3


TWO_FITS = """
import keras
import numpy as np
x = np.random.default_rng(0).normal(size=(60, 3)).astype("float32")
y = (x[:, 0] > 0).astype("float32")
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy")
model.fit(x, y, epochs=2, validation_split=0.25, verbose=0)
model.fit(x, y, epochs=3, validation_split=0.25, verbose=0)
"""


def test_the_first_of_several_fits_is_diagnosed_and_the_others_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = write_script(tmp_path, TWO_FITS)
    code, report, _ = diagnose_json(capsys, "--no-fix", script)
    assert code in (0, 1)
    assert report["probe"]["epochs"] == 2
    assert any("lines 8, 9" in note and "--fit N" in note for note in report["notes"])


def test_fit_n_diagnoses_a_later_call_and_refuses_a_missing_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = write_script(tmp_path, TWO_FITS)
    code, report, _ = diagnose_json(capsys, "--no-fix", "--fit", "2", script)
    assert code in (0, 1)
    assert report["probe"]["epochs"] == 3
    assert any("diagnosing fit call 2" in note for note in report["notes"])
    assert main(["diagnose", "--no-fix", "--fit", "3", script]) == 2
    assert "asks for fit call 3, but the script made fewer" in capsys.readouterr().err


def test_a_sample_budget_keeps_the_class_shares() -> None:
    from advisor.capture.fit_data import fit_data

    labels = np.repeat([0, 1, 2], [700, 200, 100])
    images = np.zeros((1000, 4, 4, 1), dtype="uint8")
    data = fit_data((images, labels), {"validation_split": 0.0}, max_samples=100)
    assert np.bincount(data.y).tolist() == [70, 20, 10]
    assert data.x.shape == (100, 4, 4, 1) and data.x.dtype == np.uint8
    assert any("100 of the 1000 training samples" in note for note in data.notes)


def test_max_samples_is_stated_in_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = write_script(tmp_path, TWO_FITS)
    code, report, _ = diagnose_json(capsys, "--no-fix", "--max-samples", "30", script)
    assert code in (0, 1)
    assert any("30 of the 45 training samples" in note for note in report["notes"])


def test_class_weight_becomes_per_sample_weights_of_every_slice() -> None:
    from advisor.capture.data_split import split
    from advisor.capture.fit_data import fit_data

    labels = np.array([0, 1] * 30)
    x = np.arange(60, dtype="float32")[:, None]
    kwargs = {"validation_split": 0.2, "class_weight": {0: 1.0, 1: 5.0}}
    data = split(fit_data((x, labels), kwargs))
    for y, w in ((data.y_train, data.w_train), (data.y_val, data.w_val)):
        assert np.array_equal(w, np.where(y == 1, 5.0, 1.0))


def test_weighted_scripts_are_trained_and_judged_with_their_weights(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = """
    import keras
    import numpy as np
    x = np.random.default_rng(0).normal(size=(120, 3)).astype("float32")
    y = (x[:, 0] > 0.8).astype("float32")
    weights = np.where(y == 1, 4.0, 1.0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(x, y, sample_weight=weights, epochs=3, validation_split=0.25, verbose=0)
    """
    code, report, _ = diagnose_json(capsys, "--epochs", "3", write_script(tmp_path, body))
    assert code in (0, 1)
    assert not any("sample_weight" in note for note in report["notes"])


def test_weighted_evaluation_is_the_weighted_mean_loss() -> None:
    import keras

    from advisor.capture.plan_builder import build_plan
    from advisor.python_api import plan_request
    from advisor.training.fit import evaluate

    x = np.random.default_rng(0).normal(size=(40, 2)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    plan = build_plan(plan_request(model, (x, y), epochs=2))
    weights = np.where(y == 1, 3.0, 1.0)
    plain = evaluate(model, plan, x, y)
    weighted = evaluate(model, plan, x, y, sample_weight=weights)
    assert weighted.loss == pytest.approx(np.average(plain.per_sample_loss, weights=weights))


def test_large_regression_targets_trigger_and_scaled_or_class_targets_do_not() -> None:
    from sklearn.datasets import load_diabetes

    from advisor.capture.data_profile import profile
    from advisor.history import history_from_logs
    from advisor.rule import RuleContext
    from rules import target_scale

    history = history_from_logs({"loss": [1.0, 0.5], "val_loss": [1.1, 0.6]}, source="probe")
    x, y = load_diabetes(return_X_y=True)

    def fired(targets: np.ndarray, n_classes: int | None = None) -> bool:
        data = profile(x, targets, model_normalizes_inputs=False)
        return bool(target_scale.check(history, RuleContext(n_classes=n_classes, data=data)))

    assert fired(y)
    assert not fired((y - y.mean()) / y.std())
    assert not fired(y, n_classes=2)
    assert not fired(np.round(y).astype("int64"))  # integer labels are not regression values


def test_scaled_target_fix_predicts_in_the_users_units(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import keras

    export = tmp_path / "fixed.keras"
    script = str(SCRIPTS / "diverging_lr.py")
    code, report, _ = diagnose_json(capsys, "--epochs", "5", "--export", str(export), script)
    assert code == 1
    assert "target-scale" in {f["rule"] for f in report["findings"]}
    assert any("scale-target" in c["fixes"] for c in report["candidates"])
    assert report["verdict"]["adopted"] == "fixed"
    x = np.random.default_rng(0).normal(scale=0.05, size=(50, 10)).astype("float32")
    predictions = keras.saving.load_model(export).predict(x, verbose=0)
    assert 50 < float(np.mean(predictions)) < 300  # disease progression, 25..346


def test_strategy_mixed_precision_and_a_schedule_survive_the_rewrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import keras

    body = """
    import keras
    import numpy as np
    import tensorflow as tf
    keras.mixed_precision.set_global_policy("mixed_float16")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 4)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5, 3.0]) * 50 + 200).astype("float32")
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([20], [0.5, 0.1])
    with tf.distribute.MirroredStrategy(devices=["/cpu:0"]).scope():
        model = keras.Sequential([
            keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)
        ])
        model.compile(optimizer=keras.optimizers.SGD(schedule), loss="mse")
    model.fit(x, y, epochs=3, validation_split=0.25, verbose=0)
    """
    export = tmp_path / "fixed.keras"
    script = write_script(tmp_path, body)
    code, report, _ = diagnose_json(capsys, "--epochs", "2", "--export", str(export), script)
    assert code == 1
    assert report["candidates"]
    # The search tries the target's scaling among its fix sets (no longer stacked into all).
    assert any("scale-target" in c["fixes"] for c in report["candidates"])
    assert keras.config.dtype_policy().name == "float32"  # the script's policy did not leak
    loaded = keras.saving.load_model(export)
    dense = [layer for layer in loaded._flatten_layers() if isinstance(layer, keras.layers.Dense)]
    assert dense and all(layer.dtype_policy.name == "mixed_float16" for layer in dense)


def test_lower_lr_scales_every_value_of_a_piecewise_schedule() -> None:
    import keras

    from advisor.plan import CompileSettings
    from advisor.plan_edits import ScaleLearningRate
    from advisor.training.compile import compile_model
    from tests.test_fixes import make_plan

    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([20], [0.5, 0.1])
    optimizer = keras.saving.serialize_keras_object(keras.optimizers.SGD(schedule))
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    plan = make_plan(compile=CompileSettings(optimizer, "mse"))
    compile_model(model, plan.with_edits(ScaleLearningRate("lower-lr", 0.1)))
    assert model.optimizer._learning_rate.values == pytest.approx([0.05, 0.01])


FIT_IN_A_LOOP = """
import keras
import numpy as np
rng = np.random.default_rng(0)
x = rng.normal(size=(200, 4)).astype("float32")
y = (x[:, 0] > 0).astype("float32")
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy")
{loop}
    model.fit(x, y, epochs=2, validation_split=0.25, verbose=0)
"""


@pytest.mark.parametrize(
    ("loop", "epochs", "said"),
    [
        ("for epoch in range(3):", 6, "each of its 3 calls training on from the last"),
        ("passes = 4\nfor _ in range(1, passes):", 6, "one fit of 6 epochs (3 x 2)"),
        ("done = 0\nwhile done < 3:\n    done += 1", 2, "whose passes the advisor cannot count"),
    ],
    ids=["range", "range-of-a-name", "while"],
)
def test_a_fit_called_epoch_by_epoch_in_a_loop_is_diagnosed_as_the_whole_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], loop: str, epochs: int, said: str
) -> None:
    """One model trained by several fit calls in a loop: the calls are one training, and the
    probe runs all of it (a single call's curve, one or two epochs, shows nothing)."""
    script = write_script(tmp_path, FIT_IN_A_LOOP.format(loop=loop))
    _, report, _ = diagnose_json(capsys, "--no-fix", script)
    assert report["probe"]["epochs"] == epochs
    assert any(said in note for note in report["notes"]), report["notes"]


DATAFRAME_INPUTS = """
import keras
from sklearn.datasets import load_wine
# Shuffled rows, as a pandas user loads a table: one column per feature, the label last.
frame = load_wine(as_frame=True).frame.sample(frac=1.0, random_state=0)
labels = frame.pop("target")
model = keras.Sequential(
    [keras.Input((13,)), keras.layers.Dense(3, activation="softmax")]
)
model.compile("adam", "sparse_categorical_crossentropy")
model.fit(frame, labels, epochs=2, validation_split=0.2, verbose=0)
"""


def test_a_dataframes_features_are_named_by_its_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = write_script(tmp_path, DATAFRAME_INPUTS)
    _, report, _ = diagnose_json(capsys, "--no-fix", script)
    scale = next(f for f in report["findings"] if f["rule"] == "scale-imbalance")
    assert scale["evidence"]["largest_feature"] == "x[12] (proline)"
    assert "feature x[12] (proline) varies" in scale["message"]


FLOAT64_OWN_LOSS = """
import keras
import numpy as np
from keras import ops

rng = np.random.default_rng(0)
x = rng.normal(size=(200, 4))
y = x @ np.array([1.0, -2.0, 0.5, 3.0]) * 1000.0


def huber(y_true, y_pred):
    error = y_true - ops.squeeze(y_pred, axis=-1)
    return ops.where(ops.abs(error) < 1.0, 0.5 * error**2, ops.abs(error) - 0.5)


def absolute(y_true, y_pred):
    return ops.abs(y_true - ops.squeeze(y_pred, axis=-1))


model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8), keras.layers.Dense(1)])
model.compile(optimizer="adam", loss=huber, metrics=[absolute])
model.fit(x, y, validation_split=0.2, epochs=4, verbose=0)
"""


def test_a_users_own_loss_and_metric_on_float64_data_are_scored_as_fit_scores_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """float64 NumPy targets minus float32 outputs: fit casts the data to float32 first, so a
    user's loss and metric written that way work in their script; every fit, range test and
    score of the advisor must give them the same dtypes, not an internal error."""
    script = write_script(tmp_path, FLOAT64_OWN_LOSS)
    code, report, err = diagnose_json(capsys, "--epochs", "4", script)
    assert code == 1, err
    assert report["errors"] == []
    assert "absolute" in report["baseline"]  # the metric scored on the holdout
    # It squeezes the outputs itself: right for the shapes fit gives, so no broadcast finding.
    assert "metric-broadcast" not in {f["rule"] for f in report["findings"]}
