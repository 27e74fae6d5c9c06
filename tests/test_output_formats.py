"""``--format json|sarif|github`` and ``--plot``: checked against models maintained by others
(the JSON Schema we commit, validated by jsonschema; SARIF 2.1.0 by sarif-pydantic)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel
from rich.console import Console
from sarif_pydantic import Sarif

from advisor.cli import main
from advisor.engine import run_rules
from advisor.history import load_history
from advisor.report.plot import TerminalPlot, loss_plot
from advisor.rule import RuleContext
from tests.conftest import FIXTURES, ROOT, validate_json_output

HISTORIES = sorted((FIXTURES / "histories").glob("*.json"))
DEMO = FIXTURES / "histories" / "demo_overfitting.json"
# SARIF 2.1.0 properties that sarif-pydantic's model lacks (section of the OASIS standard).
NOT_IN_MODEL = {"toolExecutionNotifications"}  # invocation, 3.20.21
LEVELS = {"info": "note"}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out


def unknown_keys(model: Any, path: str = "$") -> list[str]:
    """Keys the SARIF model did not recognise: pydantic keeps them as extras, silently."""
    if isinstance(model, BaseModel):
        found = [f"{path}.{key}" for key in model.model_extra or {} if key not in NOT_IN_MODEL]
        for name in type(model).model_fields:
            if name != "properties":  # a property bag holds anything, by the spec
                found += unknown_keys(getattr(model, name), f"{path}.{name}")
        return found
    if isinstance(model, list):
        return [k for i, item in enumerate(model) for k in unknown_keys(item, f"{path}[{i}]")]
    return []


def test_check_sarif_is_valid_sarif_2_1_0_with_one_result_per_finding(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # as CI runs it: advisor check fixtures/histories/*.json
    paths = [str(p.relative_to(ROOT)) for p in HISTORIES]
    code, out = run(capsys, "check", *paths, "--format", "sarif")
    log = Sarif.model_validate_json(out)
    assert log.version == "2.1.0" and unknown_keys(log) == []
    (sarif_run,) = log.runs
    _, as_json = run(capsys, "check", *paths, "--format", "json")
    findings = json.loads(as_json)["findings"]
    results = sarif_run.results or []
    assert code == 1 and len(results) == len(findings) > 0
    rules = sarif_run.tool.driver.rules or []
    for result, finding in zip(results, findings, strict=True):
        assert result.rule_id == finding["code"] == rules[result.rule_index or 0].id
        assert result.level is not None and result.level.value == finding["severity"]
        assert result.message.text == finding["message"]
        location = (result.locations or [])[0].physical_location
        assert location is not None and location.artifact_location is not None
        assert location.artifact_location.uri == finding["file"]
    assert sarif_run.invocations and sarif_run.invocations[0].execution_successful


def test_sarif_reports_unreadable_files_as_a_failed_invocation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    code, out = run(capsys, "check", str(bad), str(DEMO), "--format", "sarif")
    (sarif_run,) = Sarif.model_validate_json(out).runs
    assert code == 2 and sarif_run.invocations is not None
    invocation = sarif_run.invocations[0]
    assert not invocation.execution_successful
    (notification,) = (invocation.model_extra or {})["toolExecutionNotifications"]
    assert notification["level"] == "error" and str(bad) in notification["message"]["text"]


@pytest.mark.parametrize("files", [[DEMO], HISTORIES], ids=["one file", "several files"])
def test_check_json_has_one_versioned_shape(
    capsys: pytest.CaptureFixture[str], files: list[Path]
) -> None:
    _, out = run(capsys, "check", *map(str, files), "--format", "json")
    document = json.loads(out)
    validate_json_output(document)
    assert document["schema_version"] == 1 and document["command"] == "check"
    assert document["files"] == [str(p) for p in files]


def test_rules_json_is_versioned_too(capsys: pytest.CaptureFixture[str]) -> None:
    _, out = run(capsys, "rules", "--format", "json")
    validate_json_output(json.loads(out))


def test_schema_refuses_a_document_without_its_version(capsys: pytest.CaptureFixture[str]) -> None:
    _, out = run(capsys, "check", str(DEMO), "--format", "json")
    document = json.loads(out)
    del document["schema_version"]
    with pytest.raises(jsonschema.ValidationError):
        validate_json_output(document)


def test_github_annotations_point_at_the_file_and_escape_the_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out = run(capsys, "check", str(DEMO), "--format", "github")
    (line,) = out.splitlines()
    assert code == 1
    assert line.startswith(f"::warning file={DEMO},line=1,title=ADV101 overfitting::")
    assert "(+47%25)" in line  # '%' escaped as the runner requires


def test_diagnose_locates_findings_at_the_fit_call_and_plots_the_probe(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "train.py"
    script.write_text(
        "import keras\nimport numpy as np\n\n"
        "x = np.random.default_rng(0).normal(size=(60, 3)).astype('float32') * 1000\n"
        "y = (x.sum(axis=1) > 0).astype('int64')\n"
        "model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, 'softmax')])\n"
        "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy')\n"
        "model.fit(x, y, validation_split=0.25, epochs=3, verbose=0)  # line 8\n"
    )
    picture = tmp_path / "curves.svg"
    code, out = run(
        capsys, "diagnose", str(script), "--no-fix", "--format", "sarif", "--plot", str(picture)
    )
    (sarif_run,) = Sarif.model_validate_json(out).runs
    assert code == 1 and sarif_run.results  # scale-imbalance at least: inputs are ~1000x
    for result in sarif_run.results:
        location = (result.locations or [])[0].physical_location
        assert location is not None and location.region is not None
        assert location.region.start_line == 8
    assert picture.read_text().lstrip().startswith("<?xml") and "<svg" in picture.read_text()


def test_check_plot_writes_a_png_of_the_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    picture = tmp_path / "demo.png"
    assert main(["check", str(DEMO), "--plot", str(picture)]) == 1
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote the loss plot to {picture}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--plot", "curves.pdf"], "writes .png or .svg files"),
        (["--plot", "no/such/folder/curves.png"], "does not exist"),
        ([str(HISTORIES[0]), "--plot", "curves.png"], "draws one run"),
    ],
)
def test_bad_plot_requests_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    args = [str(tmp_path / a) if a.startswith(("curves", "no/")) else a for a in args]
    assert main(["check", str(DEMO), *args]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("advisor: error:") and expected in line


def test_check_imports_matplotlib_only_for_plot_and_never_tensorflow(tmp_path: Path) -> None:
    picture = tmp_path / "p.svg"
    code = (
        "import sys; from advisor.cli import main; main(['check', sys.argv[1], '--format=json']);"
        "print('MPL', 'matplotlib' in sys.modules);"
        "main(['check', sys.argv[1], '--plot', sys.argv[2], '--format=json']);"
        "print('MPL', 'matplotlib' in sys.modules, 'TF', 'tensorflow' in sys.modules)"
    )
    run_ = subprocess.run(
        [sys.executable, "-c", code, str(DEMO), str(picture)],
        capture_output=True,
        text=True,
        check=False,
    )
    marks = [line for line in run_.stdout.splitlines() if line.startswith("MPL")]
    assert marks == ["MPL False", "MPL True TF False"], run_.stderr


def test_terminal_plot_shows_both_curves_and_marks_the_findings_epoch() -> None:
    history = load_history(DEMO)
    findings = run_rules(history, RuleContext())
    plot = loss_plot(history, findings, fix_history=history, fix_label="early-stopping")
    console = Console(file=io.StringIO(), width=80)
    console.print(TerminalPlot(plot))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "your plan: · loss  • val_loss" in text and "early-stopping: + loss  x val_loss" in text
    assert "ADV101 epoch 9" in text  # val_loss bottomed out around epoch 9
    assert all(len(line) <= 80 for line in text.splitlines())
