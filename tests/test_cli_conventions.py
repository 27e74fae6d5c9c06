"""ruff's command-line conventions, as a user runs ``advisor``: ``--version``, the
``[tool.fit-advisor]`` table, ``--format concise``, ``--output-file``, ``--exit-zero``, plain
piped output and counts in words."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from advisor.cli import main
from advisor.version import installed_version
from tests.conftest import FIXTURES

DEMO = FIXTURES / "histories" / "demo_overfitting.json"  # one ADV101 overfitting warning
DIVERGED = '{"loss": [1.0, 0.8, NaN], "val_loss": [1.0, 0.9, NaN]}'  # ADV104, an error


def advisor(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The installed command, as a shell or CI runs it (its output is a pipe)."""
    return subprocess.run(
        [sys.executable, "-m", "advisor", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )


def project(tmp_path: Path, table: str) -> Path:
    """A project whose pyproject.toml has ``table`` and a history two folders down."""
    (tmp_path / "pyproject.toml").write_text(f"[project]\nname = 'x'\n\n{table}")
    folder = tmp_path / "runs" / "today"
    folder.mkdir(parents=True)
    history = folder / "h.json"
    history.write_text(DEMO.read_text())
    return history


def codes(out: str) -> set[str]:
    return {f["code"] for f in json.loads(out)["findings"]}


def test_version_prints_the_installed_version() -> None:
    run = advisor("--version")
    assert run.returncode == 0 and run.stdout.strip() == f"fit-advisor {installed_version()}"


def test_concise_is_one_path_line_col_code_message_line_per_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    diverged = tmp_path / "d.json"
    diverged.write_text(DIVERGED)
    assert main(["check", str(DEMO), str(diverged), "--format", "concise"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{DEMO}:1:1: ADV101 val_loss bottomed out around epoch 9")
    assert lines[1].startswith(f"{diverged}:1:1: ADV104 ")
    assert lines[2:] == ["Found 2 findings in 2 files: 1 error, 1 warning."]


@pytest.mark.parametrize(
    ("histories", "summary"),
    [
        ([DEMO], "Found 1 finding in 1 file: 1 warning."),
        ([DEMO, "copy.json"], "Found 2 findings in 2 files: 2 warnings."),
        ([FIXTURES / "histories" / "healthy.json"], "All clear: no findings in 1 file."),
    ],
)
def test_counts_are_said_in_the_right_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], histories: list[Path | str], summary: str
) -> None:
    (tmp_path / "copy.json").write_text(DEMO.read_text())
    main(["check", *(str(tmp_path / h) for h in histories)])
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == summary and "(s)" not in out


def test_piped_rich_output_has_no_trailing_spaces() -> None:
    for args in (["check", str(DEMO)], ["rules"], ["explain", "ADV101"]):
        run = advisor(*args)
        assert run.returncode in (0, 1) and "overfitting" in run.stdout
        assert [line for line in run.stdout.splitlines() if line != line.rstrip()] == []


def test_exit_zero_passes_findings_but_not_bad_input(tmp_path: Path) -> None:
    assert main(["check", str(DEMO), "--exit-zero"]) == 0
    assert main(["check", str(DEMO)]) == 1
    assert main(["check", str(tmp_path / "missing.json"), "--exit-zero"]) == 2


def test_output_file_gets_the_report_and_stdout_stays_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "advisor.sarif"
    assert main(["check", str(DEMO), "--format", "sarif", "--output-file", str(target)]) == 1
    assert capsys.readouterr().out == ""
    (result,) = json.loads(target.read_text())["runs"][0]["results"]
    assert result["ruleId"] == "ADV101"
    concise = tmp_path / "findings.txt"
    assert main(["check", str(DEMO), "--format", "concise", "-o", str(concise)]) == 1
    assert concise.read_text().startswith(f"{DEMO}:1:1: ADV101 ")


def test_output_file_never_overwrites_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "report.json"
    existing.write_text("mine")
    assert main(["check", str(DEMO), "--format", "json", "-o", str(existing)]) == 2
    assert existing.read_text() == "mine"
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == (
        f"advisor: error: {existing}: already exists; --output-file never overwrites a file"
    )
    history = tmp_path / "h.json"
    history.write_text(DEMO.read_text())
    assert main(["check", str(history), "-o", str(history)]) == 2
    assert history.read_text() == DEMO.read_text()


def test_config_table_is_found_walking_up_from_the_file(tmp_path: Path) -> None:
    history = project(tmp_path, '[tool.fit-advisor]\nignore = ["overfitting"]\n')
    elsewhere = tmp_path.parent  # run from anywhere: the table is found from the file
    run = advisor("check", str(history), "--format", "json", cwd=elsewhere)
    assert run.returncode == 0 and codes(run.stdout) == set(), run.stderr


def test_a_pyproject_without_the_table_is_passed_over(tmp_path: Path) -> None:
    history = project(tmp_path, '[tool.fit-advisor]\nfail-on = "error"\n')
    (history.parent / "pyproject.toml").write_text("[tool.ruff]\nline-length = 90\n")
    assert main(["check", str(history)]) == 0  # the outer table's fail-on applies


def test_flags_override_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    history = project(
        tmp_path, '[tool.fit-advisor]\nselect = ["ADV1"]\nignore = ["ADV101"]\nfail-on = "error"\n'
    )
    assert main(["check", str(history), "--format", "json"]) == 0
    assert codes(capsys.readouterr().out) == set()
    assert main(["check", str(history), "--ignore", "plateau", "--format", "json"]) == 0
    assert codes(capsys.readouterr().out) == {"ADV101"}  # --ignore replaced the table's
    assert main(["check", str(history), "--ignore", "plateau", "--fail-on", "warning"]) == 1


def test_per_file_ignores_apply_to_matching_files_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history = project(
        tmp_path, '[tool.fit-advisor.per-file-ignores]\n"runs/today/*.json" = ["overfitting"]\n'
    )
    other = tmp_path / "other.json"
    other.write_text(DEMO.read_text())
    assert main(["check", str(history), str(other), "--format", "json"]) == 1
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["file"], f["code"]) for f in findings] == [(str(other), "ADV101")]


def test_budget_is_read_into_the_settings(tmp_path: Path) -> None:
    from advisor.config import load_settings

    history = project(tmp_path, "[tool.fit-advisor]\nbudget = 3\n")
    settings = load_settings([history])
    assert settings.budget == 3.0 and settings.source == tmp_path / "pyproject.toml"


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("selct = ['ADV101']", "unknown key(s) selct"),
        ("select = 'ADV101'", "select must be a list of rule ids or codes"),
        ("fail-on = 'fatal'", "fail-on must be one of info, warning, error"),
        ("budget = -1", "budget must be a positive number"),
        ("select = ['no-such-rule']", "unknown rule 'no-such-rule'"),
        ("select = [", "invalid TOML"),
    ],
)
def test_a_bad_table_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], table: str, expected: str
) -> None:
    history = project(tmp_path, f"[tool.fit-advisor]\n{table}\n")
    assert main(["check", str(history), "--format", "json"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("advisor: error:") and expected in line


def test_select_takes_code_prefixes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(DEMO), "--select", "ADV4", "--format", "json"]) == 0
    assert codes(capsys.readouterr().out) == set()
    assert main(["check", str(DEMO), "--select", "ADV1", "--format", "json"]) == 1
    assert codes(capsys.readouterr().out) == {"ADV101"}


def test_check_loads_no_numpy_and_concise_no_rich() -> None:
    code = (
        "import sys, contextlib, io; from advisor.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['check', sys.argv[1], '--format', 'concise'])\n"
        "print('concise', 'rich' in sys.modules, 'numpy' in sys.modules)\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['check', sys.argv[1]])\n"
        "print('rich', 'rich' in sys.modules, 'numpy' in sys.modules)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(DEMO)], capture_output=True, text=True, check=False
    )
    assert run.stdout.splitlines() == ["concise False False", "rich True False"], run.stderr
