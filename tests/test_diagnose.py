"""``advisor diagnose`` end to end on the bundled example scripts: real, short trainings."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from typing import Any

import pytest

from advisor.cli import main
from advisor.fixes.apply import apply_fixes
from advisor.outcomes.scores import Slice
from tests.conftest import FIXTURES, MISSING_VALUES_RUN, FixedRun, validate_json_output
from tests.test_fixes import make_plan

SCRIPTS = FIXTURES / "scripts"


def diagnose(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["diagnose", "--format", "json", *args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    document = json.loads(captured.out)
    validate_json_output(document)
    (report,) = document["reports"]
    return code, report


def rules_of(report: dict[str, Any]) -> set[str]:
    return {finding["rule"] for finding in report["findings"]}


@pytest.mark.parametrize(
    ("script", "validation_note"),
    [
        ("functional_model.py", None),
        ("subclassed_model.py", None),
        ("tfdata_pipeline.py", None),
        ("tensors_input.py", None),
        ("no_validation.py", "holds out 20%"),
    ],
)
def test_each_kind_of_model_and_data_is_probed(
    capsys: pytest.CaptureFixture[str], script: str, validation_note: str | None
) -> None:
    code, report = diagnose(capsys, "--no-fix", "--epochs", "3", str(SCRIPTS / script))
    assert code in (0, 1)
    assert report["probe"]["epochs"] == 3
    assert "val_loss" in report["probe"]["history"]
    assert "fixes_applied" not in report  # --no-fix stops after the diagnosis
    if validation_note:
        assert any(validation_note in note for note in report["notes"])
        assert report["validation"] == "advisor_holdout"
    else:
        assert report["validation"] in ("validation_data", "validation_split")


def test_script_arguments_and_main_guard_pass_through(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = diagnose(
        capsys, "--no-fix", str(SCRIPTS / "fit_in_main.py"), "--", "--epochs", "3"
    )
    assert code in (0, 1)
    assert report["probe"]["epochs"] == 3  # the script's own --epochs reached its fit


def test_healthy_run_gets_no_warning(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = diagnose(capsys, "--no-fix", str(SCRIPTS / "healthy_iris.py"))
    assert code == 0, report["findings"]
    assert report["findings"] == []


def test_unscaled_inputs_are_flagged_and_normalised_ones_are_not(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, unscaled = diagnose(capsys, "--no-fix", "--epochs", "3", str(SCRIPTS / "unscaled_wine.py"))
    _, normalised = diagnose(
        capsys, "--no-fix", "--epochs", "3", str(SCRIPTS / "normalized_wine.py")
    )
    assert "scale-imbalance" in rules_of(unscaled)
    assert "scale-imbalance" not in rules_of(normalised)


def test_nan_inputs_are_flagged_even_when_the_loss_stays_finite(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, report = diagnose(
        capsys, "--no-fix", "--epochs", "3", str(SCRIPTS / "missing_values_cancer.py")
    )
    assert "missing-values" in rules_of(report)
    finding = next(f for f in report["findings"] if f["rule"] == "missing-values")
    assert finding["fixes"] == ["impute"] and finding["evidence"]["nonfinite_inputs"] > 0
    # Whether NaN inputs make the loss NaN depends on the CPU kernels (oneDNN's ReLU can map
    # NaN to 0). Where they do, the NaN loss is their consequence: impute comes first, and a
    # divergence finding is explained by the missing values.
    order = [(f["rule"], f["explained_by"]) for f in report["findings"]]
    assert order[0] == ("missing-values", None)
    assert all(cause == "missing-values" for rule, cause in order if rule == "divergence")


def test_select_and_fail_on_behave_as_in_check(capsys: pytest.CaptureFixture[str]) -> None:
    script = str(SCRIPTS / "unscaled_wine.py")
    code, report = diagnose(capsys, "--no-fix", "--epochs", "3", "--select", "ADV202", script)
    assert code == 0 and report["findings"] == []
    code, _ = diagnose(capsys, "--no-fix", "--epochs", "3", "--fail-on", "error", script)
    assert code == 0  # scale-imbalance is a warning


@MISSING_VALUES_RUN
def test_fixes_are_applied_measured_and_exported(missing_values_fixed: FixedRun) -> None:
    run = missing_values_fixed
    report = run.report
    assert "Traceback" not in run.err
    assert run.code == 1
    assert "impute" in report["fixes_applied"]
    assert report["verdict"]["measured_on"] == "holdout"
    assert report["verdict"]["adopted"] == "fixed"
    # The user's model predicts NaN on the holdout's NaN-holding rows; the imputed one cannot.
    baseline = float(report["baseline"]["loss"]["mean"])
    assert report["fixed"]["loss"]["mean"] < baseline or math.isnan(baseline)
    assert "nan%" not in report["verdict"]["statement"]
    # JSON carries the patch --diff prints, as one string, and what it left out, in words.
    assert report["diff"].startswith("--- a/missing_values_cancer.py\n+++ b/")
    assert "+impute = keras.layers.Lambda(" in report["diff"]
    assert isinstance(report["diff_not_applied"], list)
    assert run.script_unchanged
    # The export loads in a process that never imports the advisor, takes the script's own
    # (NaN-holding) test inputs and is compiled with the user's loss and metrics.
    probe = (
        "import sys, keras, numpy as np; sys.path.insert(0, sys.argv[2]);"
        "from fixture_data import cancer_split;"
        "from sklearn.preprocessing import StandardScaler;"
        "x, y, xt, yt = cancer_split(missing_fraction=0.05);"
        "xt = StandardScaler().fit(x).transform(xt);"
        "m = keras.saving.load_model(sys.argv[1]);"
        "r = m.evaluate(xt, yt, verbose=0, return_dict=True);"
        "assert 'advisor' not in sys.modules; print(r['accuracy'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(run.export), str(SCRIPTS)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert float(result.stdout.strip().splitlines()[-1]) > 0.8


def test_rich_report_shows_findings_fixes_and_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["diagnose", "--epochs", "6", str(SCRIPTS / "unscaled_wine.py")])
    out = capsys.readouterr().out
    assert code == 1
    for expected in ("scale-imbalance", "your plan", "with the fix", "verdict: "):
        assert expected in out
    assert "normalizer.adapt(x_train)" in out  # the adopted fix, as code


def test_repeats_compare_across_seeds(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = diagnose(
        capsys, "--epochs", "4", "--repeats", "2", str(SCRIPTS / "unscaled_wine.py")
    )
    assert code == 1
    # --repeats is the floor: a gain one look cannot decide gets seeds added, and says so.
    repeats = report["verdict"]["repeats"]
    assert repeats >= 2
    assert f"{repeats} seeds" in report["decision"]["test"]
    if repeats > 2:
        assert "seeds were added" in report["evidence"]
    # The best candidate decides on the selection data, without validation if it watches it.
    best = tuple(report["candidates"][0]["fixes"])
    watches = apply_fixes(make_plan(), best)[0].watches_validation
    decides = Slice.SELECTION_ALONE if watches else Slice.SELECTION
    assert report["decision"]["measured_on"] == decides.value


def test_several_scripts_one_broken_exits_2_and_still_reports_the_others(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(
        [
            "diagnose",
            "--format",
            "json",
            "--no-fix",
            "--epochs",
            "2",
            str(SCRIPTS / "healthy_iris.py"),
            str(SCRIPTS / "no_fit.py"),
        ]
    )
    document = json.loads(capsys.readouterr().out)
    assert code == 2
    assert len(document["reports"]) == 1 and len(document["errors"]) == 1
    assert "without calling model.fit()" in document["errors"][0]
