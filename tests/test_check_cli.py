"""`advisor check`, `rules` and `explain` as a user runs them: output, JSON and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from advisor.cli import main

DIVERGED = '{"loss": [1.0, 0.8, NaN], "val_loss": [1.0, 0.9, NaN]}'


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_diverged_history_is_an_error_finding_with_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "h.json", DIVERGED)
    assert main(["check", str(path), "--format", "json"]) == 1
    payload = json.loads(capsys.readouterr().out)
    finding = next(f for f in payload["findings"] if f["rule"] == "divergence")
    assert finding["code"] == "ADV104"
    assert finding["severity"] == "error"
    assert finding["evidence"] == {"metric": "loss", "epoch": 3, "value": "nan"}
    assert finding["fixes"][0] == "lower-lr"
    assert finding["file"] == str(path)


def test_fail_on_error_still_fails_on_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "h.json", DIVERGED)
    assert main(["check", str(path), "--fail-on", "error", "--format", "json"]) == 1


def test_rich_output_names_file_rule_and_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "h.json", DIVERGED)
    main(["check", str(path)])
    out = capsys.readouterr().out
    for text in ("ADV104", "divergence", "lower-lr", "1 error"):
        assert text in out


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"loss": [1.0', "invalid JSON"),
        ('{"loss": [1.0], "val_loss": [1.0]}', "only 1 epoch recorded"),
        ('{"loss": [1.0, 0.5, 0.4]}', "no validation metrics"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, expected: str
) -> None:
    path = write(tmp_path, "bad.json", content)
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith("advisor: error:")]
    assert len(errors) == 1 and expected in errors[0] and str(path) in errors[0]


def test_one_bad_file_does_not_stop_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(tmp_path, "good.json", DIVERGED)
    bad = write(tmp_path, "bad.json", "{")
    assert main(["check", str(bad), str(good), "--format", "json"]) == 2
    payload = json.loads(capsys.readouterr().out)
    assert payload["files"] == [str(good)]
    assert len(payload["errors"]) == 1 and str(bad) in payload["errors"][0]


def test_explain_by_code_and_id_prints_the_doc(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "adv104"]) == 0
    by_code = capsys.readouterr().out
    assert main(["explain", "divergence"]) == 0
    assert capsys.readouterr().out == by_code
    for heading in ("What it detects", "Why it matters", "Evidence", "Fix"):
        assert heading in by_code


def test_explain_unknown_rule_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "nope"]) == 2
    assert "unknown rule 'nope'" in capsys.readouterr().err


def test_rules_json_lists_every_builtin_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--format", "json"]) == 0
    rules = {row["rule"]: row["code"] for row in json.loads(capsys.readouterr().out)["rules"]}
    # Other rule packs may add rules: every built-in one must be listed under its code.
    assert rules.items() >= dict({
        "overfitting": "ADV101",
        "plateau": "ADV102",
        "oscillation": "ADV103",
        "divergence": "ADV104",
        "stalled": "ADV105",
        "underfitting": "ADV106",
        "scale-imbalance": "ADV201",
        "missing-values": "ADV202",
        "vanishing-gradients": "ADV401",
        "exploding-gradients": "ADV402",
        "dead-units": "ADV403",
        "saturation": "ADV404",
        "target-scale": "ADV203",
    }).items()


def test_python_dash_m_and_usage_errors_exit_2(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "advisor", "check"], capture_output=True, text=True, check=False
    )
    assert run.returncode == 2 and "Traceback" not in run.stderr


def test_check_path_never_imports_tensorflow(tmp_path: Path) -> None:
    path = write(tmp_path, "h.json", DIVERGED)
    code = (
        "import sys; from advisor.cli import main; main(['check', sys.argv[1]]);"
        "main(['rules']); main(['explain', 'ADV101']);"
        "print('TF', 'tensorflow' in sys.modules or 'keras' in sys.modules)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=False
    )
    assert run.stdout.strip().endswith("TF False"), run.stderr


def test_select_and_ignore_take_ids_or_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "h.json", DIVERGED)
    assert main(["check", str(path), "--ignore", "ADV104", "--format", "json"]) == 0
    assert all(f["rule"] != "divergence" for f in json.loads(capsys.readouterr().out)["findings"])
    assert main(["check", str(path), "--select", "divergence", "--format", "json"]) == 1
    assert {f["rule"] for f in json.loads(capsys.readouterr().out)["findings"]} == {"divergence"}
    assert main(["check", str(path), "--select", "bogus"]) == 2
