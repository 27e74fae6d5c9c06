"""The conformance table: every form ``compile`` and ``fit`` accept diagnoses to a report.

One tiny script per form is generated in a temporary folder (64 rows, a 4-unit net, one of two
model shapes: one sigmoid head, or a regression head ``a`` beside a classification head ``b``),
and all of them go through one ``advisor diagnose --no-fix --epochs 2`` run: capture, probe and
rules, each script a report of its own, none an error. Each form is then one test case, so a
form that fails is named.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from advisor.cli import main
from tests.conftest import FIXTURES

SCRIPTS_FOLDER = FIXTURES / "scripts"

_DATA = """\
import keras
import numpy as np

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.normal(size=(64, 4)).astype("float32")
y_b = (x[:, 0] + x[:, 1] > 0).astype("float32")
y_a = (3.0 * x[:, 2] + rng.normal(scale=0.1, size=64)).astype("float32")
w = rng.uniform(0.5, 2.0, size=64).astype("float32")
"""
_ONE_HEAD = """\
model = keras.Sequential(
    [keras.Input((4,)), keras.layers.Dense(4, activation="relu"),
     keras.layers.Dense(1, activation="sigmoid")]
)
y = y_b
"""
_TWO_HEADS = """\
inputs = keras.Input((4,))
hidden = keras.layers.Dense(4, activation="relu")(inputs)
model = keras.Model(
    inputs,
    {"a": keras.layers.Dense(1, name="a")(hidden),
     "b": keras.layers.Dense(1, activation="sigmoid", name="b")(hidden)},
)
y = {"a": y_a, "b": y_b}
"""
# A few scripts, each carrying several forms that Keras accepts together: (model, compile
# arguments, fit arguments, the forms it carries). Few scripts keep the table cheap; the forms
# stay one test each.
SCRIPTS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "one_head_as_named": (
        _ONE_HEAD,
        'loss="binary_crossentropy", metrics=["accuracy", keras.metrics.AUC()], '
        'weighted_metrics=["accuracy"], steps_per_execution=4, jit_compile=True',
        "initial_epoch=1, validation_freq=2, class_weight={0: 1.0, 1: 3.0}, validation_split=0.25",
        (
            "loss-string",
            "metrics-list",
            "weighted-metrics-list",
            "steps-per-execution",
            "jit-compile",
            "initial-epoch",
            "validation-freq",
            "class-weight",
            "validation-split",
        ),
    ),
    "one_head_as_objects": (
        _ONE_HEAD,
        "loss=keras.losses.BinaryCrossentropy(label_smoothing=0.1), run_eagerly=True",
        "sample_weight=w[:48], validation_data=(x[48:], y[48:], w[48:]), steps_per_epoch=3",
        (
            "loss-instance",
            "run-eagerly",
            "sample-weight",
            "validation-data-weighted",
            "steps-per-epoch",
        ),
    ),
    "two_heads_as_dicts": (
        _TWO_HEADS,
        'loss={"a": keras.losses.mean_squared_error, "b": "binary_crossentropy"}, '
        'loss_weights={"a": 0.5, "b": 2.0}, metrics={"a": "mae", "b": "accuracy"}, '
        'weighted_metrics={"a": "mae", "b": "accuracy"}',
        "sample_weight=w",
        (
            "loss-callable",
            "loss-dict",
            "loss-weights-dict",
            "metrics-dict",
            "weighted-metrics-dict",
            "two-heads-sample-weight",
        ),
    ),
    "two_heads_as_lists": (
        _TWO_HEADS,
        "loss=[lambda y_true, y_pred: keras.ops.mean(keras.ops.square(y_true - y_pred)), "
        "keras.losses.BinaryCrossentropy()], loss_weights=[0.5, 2.0], "
        'metrics=[["mae"], ["accuracy"]]',
        "",
        ("loss-own-function", "loss-list", "loss-weights-list", "metrics-nested-lists"),
    ),
    "two_heads_metric_lists": (
        _TWO_HEADS,
        'loss={"a": "mse", "b": "binary_crossentropy"}, '
        'metrics={"a": ["mae", "mse"], "b": ["accuracy"]}',
        "",
        ("metrics-dict-of-lists",),
    ),
}
# Logs the probe must show for each script: the user's metrics, as Keras names them, kept.
LOGGED = {
    "one_head_as_named": {"val_auc", "val_accuracy", "val_weighted_accuracy"},
    "one_head_as_objects": {"val_loss"},
    "two_heads_as_dicts": {"val_a_mae", "val_b_accuracy", "val_a_weighted_mae"},
    "two_heads_as_lists": {"val_a_mae", "val_b_accuracy"},
    "two_heads_metric_lists": {"val_a_mae", "val_a_mse", "val_b_accuracy"},
}
FORMS = {form: name for name, (*_, forms) in SCRIPTS.items() for form in forms}


def script_text(model: str, compile_arguments: str, fit_arguments: str) -> str:
    fit = ", ".join(part for part in ("epochs=4", "batch_size=8", fit_arguments) if part)
    data = "x[:48], y_b[:48]" if "validation_data" in fit_arguments else "x, y"
    if "validation_" not in fit_arguments:
        fit += ", validation_split=0.25"
    return (
        f"{_DATA}{model}"
        f'model.compile(optimizer="adam", {compile_arguments})\n'
        f"model.fit({data}, {fit}, verbose=0)\n"
    )


# Session-scoped: under pytest-xdist a worker interleaves other modules' tests with these,
# which would tear a module-scoped fixture down and run the whole diagnose again.
@pytest.fixture(scope="session")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every form's report (or error) from one ``advisor diagnose`` run over all the scripts."""
    folder = tmp_path_factory.mktemp("forms")
    scripts = []
    for name, (model, compile_arguments, fit_arguments, _) in SCRIPTS.items():
        script = folder / f"{name}.py"
        script.write_text(script_text(model, compile_arguments, fit_arguments))
        scripts.append(script)
    output = folder / "reports.json"
    main(
        ["diagnose", "--no-fix", "--epochs", "2", "--format", "json", "-o", str(output)]
        + [str(s) for s in scripts]
    )
    document = json.loads(output.read_text())
    found: dict[str, Any] = {Path(r["source"]).stem: r for r in document["reports"]}
    for error in document["errors"]:
        found.setdefault(_stem_of(error, scripts), {"error": error})
    return found


def _stem_of(error: Any, scripts: list[Path]) -> str:
    text = json.dumps(error)
    return next((s.stem for s in scripts if str(s) in text), "unknown")


@pytest.mark.xdist_group("conformance-reports")  # one worker runs the module's diagnose once
@pytest.mark.parametrize("form", list(FORMS))
def test_every_compile_and_fit_form_diagnoses_to_a_report(
    form: str, reports: dict[str, Any]
) -> None:
    report = reports.get(FORMS[form])
    assert report is not None and "error" not in report, report
    assert report["probe"]["epochs"] == 2
    assert LOGGED[FORMS[form]] <= set(report["probe"]["history"])


def test_a_lambda_layer_is_diagnosed_fixed_and_exported_with_one_note(tmp_path: Path) -> None:
    """Raw inputs call for standardising, so the fix step rebuilds the model around its Lambda;
    the export saves, and the report says once, up front, why it needs ``safe_mode=False``."""
    script = tmp_path / "lambda_layer.py"
    script.write_text(
        _DATA
        + "x = x * 1000.0 + 500.0\n"
        + _ONE_HEAD.replace(
            "keras.Input((4,)), ", "keras.Input((4,)), keras.layers.Lambda(lambda t: t * 0.5), "
        )
        + 'model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])\n'
        + "model.fit(x, y, epochs=4, batch_size=8, validation_split=0.25, verbose=0)\n"
    )
    export, output = tmp_path / "fixed.keras", tmp_path / "report.json"
    code = main(
        [
            "diagnose",
            "--epochs",
            "2",
            "--budget",
            "1",
            "--format",
            "json",
            "-o",
            str(output),
            "--export",
            str(export),
            str(script),
        ]
    )
    assert code in (0, 1)
    document = json.loads(output.read_text())
    assert document["errors"] == []
    (report,) = document["reports"]
    assert report["candidates"]  # the fix step trained rebuilt models
    caveats = [note for note in report["notes"] if "safe_mode=False" in note]
    assert len(caveats) == 1 and "Lambda layer(s) lambda" in caveats[0]
    loaded = keras.saving.load_model(export, safe_mode=False)
    assert loaded.predict(np.ones((2, 4), dtype="float32"), verbose=0).shape == (2, 1)


def test_text_through_text_vectorization_is_diagnosed_with_its_overfitting(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The adapted layer keeps its vocabulary and IDF weights in the probe's rebuilt model, so
    the probe trains and the overfitting its curves show is found."""
    code = main(
        ["diagnose", "--no-fix", "--format", "json", str(SCRIPTS_FOLDER / "text_vectorization.py")]
    )
    (report,) = json.loads(capsys.readouterr().out)["reports"]
    assert code == 1
    assert "overfitting" in {finding["rule"] for finding in report["findings"]}


def test_initial_epoch_and_validation_freq_are_said_once_not_to_be_reproduced() -> None:
    from advisor.capture.fit_data import FitData
    from advisor.capture.plan_builder import PlanRequest, build_plan
    from advisor.capture.script import CompileCall

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    x, y = np.zeros((40, 2), "float32"), np.zeros(40, "float32")

    def notes(**fit_kwargs: object) -> list[str]:
        request = PlanRequest(
            model=model,
            compile=CompileCall(kwargs={"loss": "mse"}, optimizer="adam"),
            data=FitData(x, y, None, None, "advisor_holdout", 8),
            fit_kwargs={"epochs": 2, **fit_kwargs},
        )
        return [n for n in build_plan(request).notes if "do not reproduce" in n]

    (note,) = notes(initial_epoch=1, validation_freq=2)
    assert "initial_epoch=1" in note and "validation_freq=2" in note
    assert "for the 1 epochs the script's fit trains" in note
    assert notes(initial_epoch=0, validation_freq=1) == []


def test_a_fit_from_initial_epoch_is_probed_for_the_epochs_it_trains() -> None:
    from advisor.capture.fit_data import FitData
    from advisor.capture.plan_builder import PlanRequest, build_plan
    from advisor.capture.script import CompileCall

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    x, y = np.zeros((40, 2), "float32"), np.zeros(40, "float32")
    request = PlanRequest(
        model=model,
        compile=CompileCall(kwargs={"loss": "mse"}, optimizer="adam"),
        data=FitData(x, y, None, None, "advisor_holdout", 8),
        fit_kwargs={"epochs": 10, "initial_epoch": 4},
    )
    plan = build_plan(request)
    # Keras trains epochs 5..10: six epochs, not ten.
    assert plan.user_epochs == 6 and plan.epochs == 6


def test_a_text_vectorization_with_its_own_standardize_gets_one_export_caveat() -> None:
    import tensorflow as tf

    from advisor.keras_model.portability import export_caveat

    def lower_only(text: Any) -> Any:
        return tf.strings.lower(text)

    def model(**options: Any) -> keras.Model:
        layer = keras.layers.TextVectorization(max_tokens=20, name="words", **options)
        return keras.Sequential([keras.Input((1,), dtype="string"), layer])

    caveat = export_caveat(model(standardize=lower_only))
    assert caveat is not None and "TextVectorization words.standardize" in caveat
    assert "register_keras_serializable" in caveat
    assert export_caveat(model(standardize="lower")) is None
