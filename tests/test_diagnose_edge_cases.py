"""Scripts written for one case each: unusable ones exit 2 with one line and no traceback;
usable ones with awkward parts (swallowed exceptions, file-writing callbacks) still work."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from advisor.cli import main

MODEL = """
import keras
import numpy as np
x = np.random.default_rng(0).normal(size=(80, 3)).astype("float32")
y = (x[:, 0] > 0).astype("float32")
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
"""
COMPILE = 'model.compile(optimizer="adam", loss="binary_crossentropy")\n'


def run(
    tmp_path: Path, body: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(body))
    code = main(["diagnose", "--no-fix", "--epochs", "2", str(script)])
    captured = capsys.readouterr()
    return code, captured.err, captured.out


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("x = 1\nraise ValueError('no data here')\n", "train.py:2: the script raised ValueError"),
        ("def f(:\n    pass\n", "train.py:1: SyntaxError"),
        (MODEL + COMPILE + "print(model.summary())\n", "without calling model.fit()"),
        (MODEL + "model.fit(x, y, epochs=2)\n", "never compiled"),
        ("import sys\nsys.exit(3)\n", "exited (code 3) before calling model.fit()"),
        (
            MODEL + COMPILE + "def batches():\n    while True:\n        yield x[:8], y[:8]\n"
            "model.fit(batches(), epochs=2)\n",
            "no steps_per_epoch",
        ),
        (
            MODEL + COMPILE + "model.fit([x, x[:5]], y, epochs=2)\n",
            "different numbers of samples ([5, 80])",
        ),
    ],
    ids=["raises", "syntax-error", "no-fit", "uncompiled", "exits", "generator", "ragged-inputs"],
)
def test_unusable_scripts_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, expected: str
) -> None:
    code, err, _ = run(tmp_path, body, capsys)
    assert code == 2
    assert expected in err
    assert "Traceback" not in err
    assert len([line for line in err.splitlines() if line.startswith("advisor: error")]) == 1


def test_missing_script(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagnose", str(tmp_path / "nope.py")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_user_exception_caught_inside_the_script_does_not_hide_the_fit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = MODEL + COMPILE + "try:\n    model.fit(x, y, epochs=2, validation_split=0.25)\n"
    body += "except Exception:\n    print('swallowed')\n"
    code, err, out = run(tmp_path, body, capsys)
    assert code in (0, 1)
    # The script's own prints go to stderr; its except branch must not have run at all.
    assert "swallowed" not in out + err


def test_capture_restores_argv_path_and_keras(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import keras

    argv, path, fit = sys.argv[:], sys.path[:], keras.Model.fit
    run(tmp_path, "raise RuntimeError('boom')\n", capsys)
    assert (sys.argv, sys.path, keras.Model.fit) == (argv, path, fit)


def test_export_refuses_to_overwrite_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "model.keras"
    existing.write_text("user's file")
    script = tmp_path / "train.py"
    script.write_text("raise AssertionError('must not run')\n")
    assert main(["diagnose", "--export", str(existing), str(script)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert existing.read_text() == "user's file"


def test_callbacks_that_write_files_are_left_out_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint = tmp_path / "best.keras"
    body = MODEL + COMPILE + (
        "stop = keras.callbacks.EarlyStopping(monitor='val_loss', patience=1)\n"
        f"save = keras.callbacks.ModelCheckpoint({str(checkpoint)!r})\n"
        "model.fit(x, y, epochs=3, validation_split=0.25, callbacks=[stop, save])\n"
    )
    script = tmp_path / "train.py"
    script.write_text(body)
    code = main(["diagnose", "--format", "json", str(script)])
    (report,) = json.loads(capsys.readouterr().out)["reports"]
    assert code in (0, 1)
    assert any("ModelCheckpoint" in note for note in report["notes"])
    assert not checkpoint.exists()
