"""``advisor diagnose SCRIPT --diff``: the patch alone on stdout, applied as a user would, and
the patched script beating the user's own on its test split."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from advisor.cli import main
from tests.conftest import FIXTURES, MISSING_VALUES, MISSING_VALUES_RUN, FixedRun

SCRIPTS = FIXTURES / "scripts"


# Runs the script of each (folder, seed offset) as `python script.py` would (as __main__, its
# folder the working folder and on sys.path, its own modules imported afresh) with every
# `keras.utils.set_random_seed` shifted by the offset, and prints the test accuracy of its model
# on the (x, y) of its last `evaluate`; after the first run, that of each exported model (argv[3:])
# on the same (x, y). One process for all runs: each seeds itself, so none depends on the one
# before, and TensorFlow is imported once instead of once a run.
SCORE = """
import json, os, runpy, sys
import keras
script, runs, export = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3:]
seen, evaluate, seed = {"offset": 0}, keras.Model.evaluate, keras.utils.set_random_seed
def remember(model, x=None, y=None, *args, **kwargs):
    seen.update(model=model, x=x, y=y)
    return evaluate(model, x, y, *args, **kwargs)
def accuracy(model):
    return evaluate(model, seen["x"], seen["y"], verbose=0, return_dict=True)["accuracy"]
keras.Model.evaluate = remember
keras.utils.set_random_seed = lambda value: seed(value + seen["offset"])
scores = []
for folder, offset in runs:
    for name in [n for n, m in sys.modules.items() if getattr(m, "__file__", "") and
                 os.path.dirname(os.path.abspath(m.__file__)) == folder]:
        del sys.modules[name]
    os.chdir(folder)
    sys.path.insert(0, folder)
    sys.argv, seen["offset"] = [script], offset
    runpy.run_path(script, run_name="__main__")
    sys.path.remove(folder)
    scores.append(accuracy(seen["model"]))
    if len(scores) == 1:
        scores += [accuracy(keras.saving.load_model(path)) for path in export]
print(json.dumps(scores))
"""
# A seed spread of zero (every seed at the majority share) still allows this much.
MIN_SPREAD = 0.02


def _test_accuracies(script: str, runs: list[tuple[Path, int]], *export: Path) -> list[float]:
    """The first run's test accuracy, then each export's on the same split, then the other
    runs' test accuracies."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            SCORE,
            script,
            json.dumps([(str(folder), offset) for folder, offset in runs]),
            *map(str, export),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    scores: list[float] = json.loads(done.stdout.strip().splitlines()[-1])
    return scores


@pytest.mark.parametrize(
    ("script", "options", "changed"),
    [
        # a Normalization layer adapted on the script's own training variable
        ("unscaled_wine.py", ("--budget", "1"), "+normalizer.adapt(x_train)\n"),
        # a callback created for the script's own fit (the demo's adopted early stopping)
        ("overfit_noisy_labels.py", (), "+    callbacks=[early_stopping],\n"),
    ],
)
def test_the_printed_diff_applies_and_the_patched_script_reaches_the_export(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    script: str,
    options: tuple[str, ...],
    changed: str,
) -> None:
    exported = tmp_path / "fixed.keras"
    code = main(["diagnose", *options, "--diff", "--export", str(exported), str(SCRIPTS / script)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out.startswith(f"--- a/{script}\n+++ b/{script}\n@@ ")
    assert changed in captured.out
    _assert_the_patched_script_reaches_the_export(tmp_path, script, captured.out, exported)


@MISSING_VALUES_RUN
def test_a_preprocessing_step_inside_the_model_applies_and_reaches_the_export(
    tmp_path: Path, missing_values_fixed: FixedRun
) -> None:
    """Imputation and a Normalization layer: the patch of the run that test_diagnose checks
    (its JSON carries the one patch --diff prints, so that run is not made twice)."""
    diff = missing_values_fixed.report["diff"]
    assert "+impute = keras.layers.Lambda(" in diff
    script = MISSING_VALUES.name
    _assert_the_patched_script_reaches_the_export(
        tmp_path, script, diff, missing_values_fixed.export
    )


def _assert_the_patched_script_reaches_the_export(
    tmp_path: Path, script: str, diff: str, exported: Path
) -> None:
    """``diff`` applies to a copy of the script with patch and git apply, the export beats
    the user's script on its test split (at two seeds), and the patched script beats it too,
    within the user's seed spread of the export."""
    yours, patched = tmp_path / "yours", tmp_path / "patched"
    for folder in (yours, patched):
        folder.mkdir()
        for name in (script, "fixture_data.py"):
            shutil.copy(SCRIPTS / name, folder / name)
    (patched / "fix.patch").write_text(diff)
    if shutil.which("patch"):
        subprocess.run(["patch", "-p1", "--dry-run", "-i", "fix.patch"], cwd=patched, check=True)
    subprocess.run(["git", "apply", "fix.patch"], cwd=patched, check=True)
    your_score, export, other_seed, patched_score = _test_accuracies(
        script, [(yours, 0), (yours, 1), (patched, 0)], exported
    )
    spread = max(abs(your_score - other_seed), MIN_SPREAD)
    assert export > max(your_score, other_seed)  # the advisor's own claim, on the test split
    assert patched_score > max(your_score, other_seed)
    assert patched_score >= export - spread


def test_no_diff_when_no_fix_is_adopted_and_why_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["diagnose", "--diff", str(SCRIPTS / "healthy_iris.py")])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    (line,) = captured.err.strip().splitlines()  # one line, unwrapped, says why
    assert line.startswith("advisor: no diff for ") and "no fix was adopted (no-fix: " in line


def test_diff_is_for_one_script_and_its_patch_only(capsys: pytest.CaptureFixture[str]) -> None:
    script = str(SCRIPTS / "healthy_iris.py")
    for extra in (["--format", "json"], ["--no-fix"], [script]):
        assert main(["diagnose", "--diff", script, *extra]) == 2
        assert "--diff prints the patch of one SCRIPT" in capsys.readouterr().err
