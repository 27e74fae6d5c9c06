"""Model and input kinds beyond dense nets on tables: images, sequences, token ids, subclassed.

Each kind gets the fixes that make sense for it: images are profiled and scaled per channel,
token ids are never scaled, dropout goes where conv and recurrent models take it, and a
subclassed model gets its input steps by wrapping. Exported models load with plain Keras and
take the script's own inputs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from advisor.capture.data_profile import profile
from advisor.cli import main
from advisor.keras_model.inspect import model_kind, rewrite_sites, token_inputs
from advisor.plan import ModelRecipe
from advisor.plan_edits import DropoutAfterHidden, KernelPenalty
from advisor.rule import RuleContext
from advisor.training.rebuild import fresh_model
from rules import scale_imbalance
from tests.conftest import FIXTURES

SCRIPTS = FIXTURES / "scripts"
REGULARISED = (DropoutAfterHidden("dropout", 0.3), KernelPenalty("l2", l2=0.01))


def diagnose_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["diagnose", "--format", "json", *args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    (report,) = json.loads(captured.out)["reports"]
    return code, report


def diagnose_and_load(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, script: str, *args: str
) -> tuple[int, dict[str, Any], keras.Model]:
    """``advisor diagnose --export`` on a bundled script; the export loaded with plain Keras."""
    export = tmp_path / "fixed.keras"
    options = ("--epochs", "3", "--export", str(export), str(SCRIPTS / script))
    code, report = diagnose_json(capsys, *options, *args)
    return code, report, keras.saving.load_model(export)


def layer_kinds(model: keras.Model) -> list[str]:
    return [type(layer).__name__ for layer in model.layers]


def test_images_are_profiled_per_channel_and_raw_pixels_named() -> None:
    images = np.random.default_rng(0).integers(0, 256, size=(20, 8, 8, 3)).astype("uint8")
    data = profile(images, np.zeros(20), model_normalizes_inputs=False)
    assert data.feature_names == ("channel[0]", "channel[1]", "channel[2]")
    assert data.nonfinite_per_feature == (0, 0, 0)
    finding = scale_imbalance.check(None, RuleContext(data=data))  # type: ignore[arg-type]
    assert "raw 0..255 pixel values" in finding[0].message


def test_token_ids_are_never_a_scale_problem() -> None:
    ids = np.random.default_rng(0).integers(0, 5000, size=(30, 12))
    data = profile(ids, np.zeros(30), model_normalizes_inputs=False, token_inputs=(True,))
    assert data.input_kind == "tokens"
    assert scale_imbalance.check(None, RuleContext(data=data)) == []  # type: ignore[arg-type]


def test_token_inputs_are_recognised_in_every_model_kind() -> None:
    sequential = keras.Sequential(
        [keras.Input((4,), dtype="int32"), keras.layers.Embedding(10, 2), keras.layers.Flatten()]
    )
    words = keras.Input((1,), dtype="string")
    lookup = keras.layers.StringLookup(vocabulary=["a", "b"])(words)
    functional = keras.Model(words, keras.layers.Dense(1)(keras.ops.cast(lookup, "float32")))
    dense = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    ids, text, numbers = np.zeros((2, 4), "int32"), np.array([["a"], ["b"]]), np.zeros((2, 4))
    assert token_inputs(sequential, ids) == token_inputs(functional, text) == (True,)
    assert token_inputs(dense, numbers) == (False,)
    age = keras.Input((1,), name="age")
    word = keras.Input((3,), name="words", dtype="int32")
    embedded = keras.layers.Flatten()(keras.layers.Embedding(9, 2)(word))
    mixed = keras.Model(
        [age, word], keras.layers.Dense(1)(keras.layers.Concatenate()([age, embedded]))
    )
    assert token_inputs(mixed, {"words": ids[:, :3], "age": numbers[:, :1]}) == (True, False)


def test_dropout_goes_after_flatten_and_hidden_dense_in_a_cnn() -> None:
    cnn = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    rebuilt = fresh_model(ModelRecipe(model_kind(cnn), cnn, False), REGULARISED)
    assert layer_kinds(rebuilt.model) == [
        "Conv2D",
        "MaxPooling2D",
        "Flatten",
        "Dropout",
        "Dense",
        "Dropout",
        "Dense",
    ]
    assert rewrite_sites(cnn) == (2, 3)


def test_recurrent_layers_get_recurrent_dropout() -> None:
    inputs = keras.Input((5, 3))
    outputs = keras.layers.Dense(2)(keras.layers.GRU(4)(inputs))
    rnn = keras.Model(inputs, outputs)
    rebuilt = fresh_model(ModelRecipe(model_kind(rnn), rnn, False), REGULARISED)
    gru = next(layer for layer in rebuilt.model.layers if isinstance(layer, keras.layers.GRU))
    assert gru.recurrent_dropout == pytest.approx(0.3)
    assert gru.kernel_regularizer is not None
    assert rewrite_sites(rnn) == (1, 2)


def test_raw_pixel_cnn_is_fixed_per_channel_and_exported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report, loaded = diagnose_and_load(capsys, tmp_path, "cnn_raw_pixels.py")
    assert code == 1
    scale = next(f for f in report["findings"] if f["rule"] == "scale-imbalance")
    assert scale["evidence"]["raw_pixels"] is True
    assert ["standardize"] in [c["fixes"] for c in report["candidates"]]
    images = np.random.default_rng(0).uniform(0, 255, size=(4, 8, 8, 1)).astype("float32")
    assert loaded.predict(images, verbose=0).shape == (4, 10)


def test_token_ids_into_an_embedding_are_never_standardised(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, report = diagnose_json(capsys, "--epochs", "2", str(SCRIPTS / "embedding_tokens.py"))
    assert code in (0, 1)
    assert "scale-imbalance" not in {f["rule"] for f in report["findings"]}
    assert all("standardize" not in c["fixes"] for c in report["candidates"])


def test_unbuilt_subclassed_model_gets_input_steps_by_wrapping(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report, loaded = diagnose_and_load(
        capsys, tmp_path, "subclassed_model.py", "--", "--raw"
    )
    assert code == 1
    standardized = [c for c in report["candidates"] if c["fixes"] == ["standardize"]]
    assert standardized and standardized[0]["notes"] == []  # the script registered its class
    raw_wine = np.random.default_rng(0).uniform(0, 1000, size=(3, 13)).astype("float32")
    assert loaded.predict(raw_wine, verbose=0).shape == (3, 3)


def test_two_named_inputs_and_heads_are_profiled_fixed_and_exported_per_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report, loaded = diagnose_and_load(capsys, tmp_path, "two_inputs_two_outputs.py")
    assert code == 1
    scale = next(f for f in report["findings"] if f["rule"] == "scale-imbalance")
    assert scale["evidence"]["largest_feature"] == "phenols:x[6]"  # proline, in its input
    # Standardising alone is a candidate (the probe rules may add lower-lr to another one).
    assert ["standardize"] in [c["fixes"] for c in report["candidates"]]
    assert {"cultivar_loss", "color_loss"} <= set(report["baseline"])
    rng = np.random.default_rng(0)
    outputs = loaded.predict(
        {"acids": rng.normal(size=(2, 5)), "phenols": rng.uniform(0, 900, size=(2, 7))}, verbose=0
    )
    assert {name: value.shape for name, value in outputs.items()} == {
        "cultivar": (2, 3),
        "color": (2, 1),
    }


def test_inputs_and_heads_as_lists_are_diagnosed(capsys: pytest.CaptureFixture[str]) -> None:
    script = str(SCRIPTS / "two_inputs_two_outputs.py")
    code, report = diagnose_json(capsys, "--no-fix", "--epochs", "2", script, "--", "--lists")
    assert code == 1
    assert any(f["evidence"].get("largest_feature") == "1:x[6]" for f in report["findings"])


def test_string_inputs_into_a_lookup_layer_are_diagnosed_not_scaled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "train.py"
    script.write_text(
        "import keras\nimport numpy as np\nimport tensorflow as tf\n"
        "words = tf.constant([['red'], ['green'], ['blue']] * 30)\n"
        "y = np.tile([1.0, 0.0, 0.0], 30).astype('float32')\n"
        "inputs = keras.Input((1,), dtype='string')\n"
        "ids = keras.layers.StringLookup(vocabulary=['red', 'green', 'blue'])(inputs)\n"
        "hidden = keras.layers.Flatten()(keras.layers.Embedding(4, 2)(ids))\n"
        "model = keras.Model(inputs, keras.layers.Dense(1, activation='sigmoid')(hidden))\n"
        "model.compile(optimizer=keras.optimizers.SGD(1e-4), loss='binary_crossentropy')\n"
        "model.fit(words, y, epochs=4, validation_split=0.25, verbose=0)\n"
    )
    code, report = diagnose_json(capsys, str(script))
    assert code in (0, 1)
    assert "scale-imbalance" not in {f["rule"] for f in report["findings"]}
    assert all("standardize" not in c["fixes"] for c in report["candidates"])


def test_statistics_read_in_chunks_equal_the_whole_arrays(monkeypatch: pytest.MonkeyPatch) -> None:
    import advisor.capture.data_profile as data_profile

    monkeypatch.setattr(data_profile, "CHUNK_VALUES", 50)  # many chunks of a few images
    images = np.random.default_rng(0).uniform(0, 255, size=(30, 4, 4, 2))
    images[3, 1, 1, 0] = np.nan
    data = profile(images, np.zeros(30), model_normalizes_inputs=False)
    channels = images.reshape(-1, 2)
    assert data.means == pytest.approx(tuple(np.nanmean(channels, axis=0)))
    assert data.stds == pytest.approx(tuple(np.nanstd(channels, axis=0)))
    assert data.nonfinite_per_feature == (1, 0)
