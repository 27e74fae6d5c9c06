"""A plain ``advisor diagnose`` in a fresh shell prints no TensorFlow log line; ``--verbose``
does, and the user's own prints and warnings reach stderr either way."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from advisor.native_logs import NATIVE_LOG_LINE

SCRIPT = """
import os
import warnings
import keras
import numpy as np

print("user print before fit")
warnings.warn("user warning before fit")
x = np.random.default_rng(0).normal(size=(80, 3)).astype("float32")
y = (x.sum(axis=1) > 0).astype("int64")
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
# What TensorFlow's C++ does when the first operation initialises the devices, after the
# import: a native line straight to descriptor 2. And a progress fragment with no newline yet.
os.write(2, b"E0000 00:00:1796161919.656683    5123 cuda_platform.cc:52] failed call to cuInit\\n")
os.write(2, b"\\r 3/3 user progress")
model.fit(x, y, validation_split=0.25, epochs=3, verbose=0)
"""


def _diagnose(tmp_path: Path, *flags: str) -> str:
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    run = subprocess.run(
        [sys.executable, "-m", "advisor", "diagnose", str(script), "--no-fix", *flags],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert run.returncode in (0, 1), run.stderr
    return run.stderr


def test_plain_diagnose_prints_no_tensorflow_log_line_but_the_users_output(
    tmp_path: Path,
) -> None:
    stderr = _diagnose(tmp_path)
    tf_lines = [line for line in stderr.splitlines() if NATIVE_LOG_LINE.match(line)]
    assert tf_lines == []
    assert not any(word in stderr for word in ("absl", "oneDNN", "cuda", "tensorflow/"))
    assert "user print before fit" in stderr
    assert "user warning before fit" in stderr
    assert " 3/3 user progress" in stderr  # no newline of its own, still shown


def test_verbose_shows_tensorflows_own_lines(tmp_path: Path) -> None:
    stderr = _diagnose(tmp_path, "--verbose")
    assert any(NATIVE_LOG_LINE.match(line) for line in stderr.splitlines()), stderr
    assert "user print before fit" in stderr
