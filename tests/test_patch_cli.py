"""``advisor diagnose SCRIPT --diff``: the patch alone on stdout, applied as a user would, and
the patched script beating the user's own on its test split."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from advisor.cli import main
from tests.conftest import FIXTURES

SCRIPTS = FIXTURES / "scripts"


def _test_accuracy(folder: Path, script: str) -> float:
    done = subprocess.run(
        [sys.executable, script], cwd=folder, capture_output=True, text=True, check=True
    )
    found = re.search(r"test accuracy ([0-9.]+)", done.stdout)
    assert found, done.stdout
    return float(found.group(1))


def test_the_printed_diff_applies_and_the_patched_script_beats_the_users(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    script = "missing_values_cancer.py"
    code = main(["diagnose", "--epochs", "8", "--diff", str(SCRIPTS / script)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out.startswith(f"--- a/{script}\n+++ b/{script}\n@@ ")
    assert "+impute = keras.layers.Lambda(" in captured.out
    for name in (script, "fixture_data.py"):
        shutil.copy(SCRIPTS / name, tmp_path / name)
    yours = _test_accuracy(tmp_path, script)
    (tmp_path / "fix.patch").write_text(captured.out)
    subprocess.run(["git", "apply", "fix.patch"], cwd=tmp_path, check=True)
    assert _test_accuracy(tmp_path, script) > yours + 0.2  # 0.63 (the majority share) before


def test_no_diff_when_no_fix_is_adopted_and_why_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["diagnose", "--diff", str(SCRIPTS / "healthy_iris.py")])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    assert "no diff for" in captured.err


def test_diff_is_for_one_script_and_its_patch_only(capsys: pytest.CaptureFixture[str]) -> None:
    script = str(SCRIPTS / "healthy_iris.py")
    for extra in (["--format", "json"], ["--no-fix"], [script]):
        assert main(["diagnose", "--diff", script, *extra]) == 2
        assert "--diff prints the patch of one SCRIPT" in capsys.readouterr().err
