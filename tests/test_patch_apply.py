"""The patch applied as a user would: ``git apply`` in the script's folder, then ``python
script.py``. The patched bundled scripts must run and build the model the edits describe.

Tiny budgets (``SetEpochs``) keep each run to seconds; that the patched script also trains a
better model is measured by ``benchmarks/patch_benefit.py``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from advisor import plan_edits as e
from advisor.patch import ScriptFacts, script_diff
from tests.conftest import FIXTURES

SCRIPTS = FIXTURES / "scripts"
# Runs the script as `python script.py` would (as __main__, its folder on sys.path), then
# prints what its global `model` became.
INSPECT = """
import json, runpy, sys
sys.path.insert(0, ".")
scope = runpy.run_path(sys.argv[1], run_name="__main__")
model, optimizer = scope["model"], scope["model"].optimizer
print(json.dumps({
    "layers": [type(layer).__name__ for layer in model.layers],
    "optimizer": type(optimizer).__name__,
    "learning_rate": float(optimizer.learning_rate),
    "clipnorm": optimizer.clipnorm,
}))
"""
STOP = e.CallbackSpec(
    "EarlyStopping", {"monitor": "val_task_loss", "patience": 2, "restore_best_weights": True}
)


def _apply(script: str, edits: tuple[e.PlanEdit, ...], facts: ScriptFacts, folder: Path) -> str:
    """Copy the script (and its data helper) to ``folder``, apply its diff with git, return
    the diff."""
    for name in (script, "fixture_data.py"):
        shutil.copy(SCRIPTS / name, folder / name)
    result = script_diff(folder / script, edits, facts)
    assert result.diff.startswith(f"--- a/{script}\n+++ b/{script}\n")
    (folder / "fix.patch").write_text(result.diff)
    if shutil.which("patch"):
        subprocess.run(["patch", "-p1", "--dry-run", "-i", "fix.patch"], cwd=folder, check=True)
    subprocess.run(["git", "apply", "fix.patch"], cwd=folder, check=True)
    return result.diff


def _run(script: str, folder: Path) -> tuple[str, dict[str, object]]:
    done = subprocess.run(
        [sys.executable, "-c", INSPECT, script],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    *printed, facts = done.stdout.strip().splitlines()
    return "\n".join(printed), json.loads(facts)


def test_a_patched_sequential_script_runs_with_the_fixed_model(tmp_path: Path) -> None:
    edits: tuple[e.PlanEdit, ...] = (
        e.PrependInputStep("standardize", "standardize"),
        e.DropoutAfterHidden("dropout", 0.3),
        e.KernelPenalty("l2", l2=1e-3),
        e.ScaleLearningRate("lower-lr", 0.1),
        e.ClipGradients("clip-gradients", 1.0),
        e.AddCallback("early-stopping", STOP),
        e.SetEpochs("budget", 3),
    )
    _apply("overfit_digits.py", edits, ScriptFacts("Adam", 1e-3, 40), tmp_path)
    printed, model = _run("overfit_digits.py", tmp_path)
    assert printed.startswith("test loss")
    assert model["layers"] == ["Normalization", "Dense", "Dropout", "Dense", "Dropout", "Dense"]
    assert model["optimizer"] == "Adam" and model["clipnorm"] == 1.0
    assert model["learning_rate"] == pytest.approx(1e-4)


def test_a_patched_functional_script_runs_with_the_fixed_model(tmp_path: Path) -> None:
    adam = {"class_name": "Adam", "config": {"learning_rate": 0.002}}
    edits: tuple[e.PlanEdit, ...] = (
        e.PrependInputStep("standardize", "standardize"),
        e.BatchNormBeforeActivation("batch-norm"),
        e.ReplaceOptimizer("adaptive-optimizer", adam),
        e.AddCallback("lr-decay", e.CallbackSpec("ReduceLROnPlateau", {"patience": 1})),
        e.SetEpochs("budget", 2),
    )
    _apply("functional_model.py", edits, ScriptFacts("Adam", 1e-3, 5), tmp_path)
    printed, model = _run("functional_model.py", tmp_path)
    assert printed.startswith("test loss")
    assert model["layers"] == [
        "InputLayer",
        "Normalization",
        "Dense",
        "BatchNormalization",
        "Activation",
        "Dropout",
        "Dense",
    ]
    assert model["learning_rate"] == pytest.approx(0.002)


def test_a_patched_script_with_missing_values_imputes_inside_the_model(tmp_path: Path) -> None:
    edits: tuple[e.PlanEdit, ...] = (
        e.PrependInputStep("impute", "impute"),
        e.PrependInputStep("standardize", "standardize"),
        e.SetEpochs("budget", 3),
    )
    diff = _apply("missing_values_cancer.py", edits, ScriptFacts("Adam", 1e-3, 20), tmp_path)
    assert "+import numpy as np\n" in diff
    printed, model = _run("missing_values_cancer.py", tmp_path)
    assert "nan" not in printed  # the test inputs have NaN too: the model fills them itself
    assert model["layers"][:3] == ["Lambda", "Normalization", "Dense"]


FRAME_SCRIPT = """import keras
from sklearn.datasets import load_wine

frame = load_wine(as_frame=True).frame
features, labels = frame.drop(columns=["target"]), frame["target"]
model = keras.Sequential(
    [
        keras.Input(shape=(13,)),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dense(3, activation="softmax"),
    ]
)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(features, labels, validation_split=0.2, epochs=2, verbose=0)
print("trained")
"""


SLICED_SCRIPT = """import keras
from sklearn.datasets import load_wine

x, y = load_wine(return_X_y=True)
model = keras.Sequential(
    [
        keras.Input(shape=(13,)),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dense(3, activation="softmax"),
    ]
)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x[:150].astype("float32") / 2.0, y[:150], validation_split=0.2, epochs=2, verbose=0)
print("trained")
"""


@pytest.mark.parametrize(
    ("given", "skipped"),
    [
        ('x[:150].astype("float32") / 2.0', None),
        ("x[:150, ..., None][:, :, 0]", None),
        ("keras.ops.convert_to_tensor(x[:150])", "not a variable the patch reads"),
        ("rows[:150]", "`rows`, in the training inputs, is not defined"),
    ],
)
def test_an_input_step_is_adapted_on_the_expression_fit_trains_on(
    tmp_path: Path, given: str, skipped: str | None
) -> None:
    """Scripts pass slices and scaled copies to fit (``x[:150] / 2.0``): the Normalization is
    adapted on that same expression, which only reads variables; a call that could do more,
    or a variable defined after the model, is left out and said."""
    script = tmp_path / "train.py"
    source = SLICED_SCRIPT.replace('x[:150].astype("float32") / 2.0', given)
    source = source.replace("model.fit(rows", 'rows = x\nmodel.fit(rows')
    script.write_text(source)
    edits = (e.PrependInputStep("standardize", "standardize"),)
    result = script_diff(script, edits, ScriptFacts("Adam", 1e-3, 2))
    if skipped is not None:
        assert result.diff == "" and skipped in result.not_applied[0]
        return
    assert result.not_applied == ()
    (tmp_path / "fix.patch").write_text(result.diff)
    subprocess.run(["git", "apply", "fix.patch"], cwd=tmp_path, check=True)
    assert f"normalizer.adapt({given})" in script.read_text()
    printed, model = _run("train.py", tmp_path)
    assert printed == "trained"
    assert model["layers"][:2] == ["Normalization", "Dense"]


DATASET_SCRIPT = """import keras
import tensorflow as tf
from sklearn.datasets import load_wine

x, y = load_wine(return_X_y=True)
train = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(178).batch(16).repeat()
model = keras.Sequential(
    [
        keras.Input(shape=(13,)),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dense(3, activation="softmax"),
    ]
)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(train, epochs=2, steps_per_epoch=11, verbose=0)
print("trained")
"""


def test_a_patched_script_standardises_a_tf_data_pipeline_on_its_features(
    tmp_path: Path,
) -> None:
    """A pipeline yields (features, targets) batches and may repeat forever: the Normalization
    is adapted on its features for the batches of one of the script's epochs; imputing it is
    left to the pipeline, and said."""
    script = tmp_path / "train.py"
    script.write_text(DATASET_SCRIPT)
    edits = (
        e.PrependInputStep("impute", "impute"),
        e.PrependInputStep("standardize", "standardize"),
    )
    result = script_diff(script, edits, ScriptFacts("Adam", 1e-3, 2, inputs="dataset"))
    assert result.not_applied == (
        "impute: a tf.data pipeline's missing values are filled in the pipeline itself",
    )
    (tmp_path / "fix.patch").write_text(result.diff)
    subprocess.run(["git", "apply", "fix.patch"], cwd=tmp_path, check=True)
    assert (
        "normalizer.adapt(train.take(11).map(lambda features, *_: features))"
        in script.read_text()
    )
    printed, model = _run("train.py", tmp_path)
    assert printed == "trained"
    assert model["layers"][:2] == ["Normalization", "Dense"]


def test_a_patched_script_standardises_pandas_inputs_as_arrays(tmp_path: Path) -> None:
    """Normalization.adapt iterates a DataFrame's column names: the patch adapts it on the
    frame's values, and the patched script trains on the frame as the script did."""
    script = tmp_path / "train.py"
    script.write_text(FRAME_SCRIPT)
    edits = (
        e.PrependInputStep("impute", "impute"),
        e.PrependInputStep("standardize", "standardize"),
    )
    facts = ScriptFacts("Adam", 1e-3, 2, inputs="frame")
    result = script_diff(script, edits, facts)
    assert result.not_applied == ()
    (tmp_path / "fix.patch").write_text(result.diff)
    subprocess.run(["git", "apply", "fix.patch"], cwd=tmp_path, check=True)
    assert 'normalizer.adapt(impute(np.asarray(features, dtype="float32")))' in script.read_text()
    printed, model = _run("train.py", tmp_path)
    assert printed == "trained"
    assert model["layers"][:3] == ["Lambda", "Normalization", "Dense"]
