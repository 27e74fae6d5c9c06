"""``advisor check`` on input that is not a history: exit 2 and one line, never a traceback,
and in every machine format still a valid document that carries the error."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sarif_pydantic import Sarif

from advisor.cli import main
from advisor.history import MAX_HISTORY_BYTES
from tests.conftest import FIXTURES, validate_json_output

DEMO = FIXTURES / "histories" / "demo_overfitting.json"
EPOCHS = '"val_loss": [1.0, 0.9, 0.8]'


def _text(content: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / "history.json"
        path.write_text(content)
        return path

    return make


def _huge(folder: Path) -> Path:
    """A file one byte over the size bound (sparse: it takes no room on the disk)."""
    path = folder / "history.json"
    with path.open("wb") as file:
        file.truncate(MAX_HISTORY_BYTES + 1)
    return path


# (input, what the one error line says)
BAD_HISTORIES = {
    "400-digit integer": (_text(f'{{"loss": [1, 2, {"9" * 400}], {EPOCHS}}}'), "400 digits"),
    "5000-digit integer": (_text(f'{{"loss": [1, 2, {"9" * 5000}], {EPOCHS}}}'), "5000 digits"),
    "300-digit integer beyond a float": (
        _text(f'{{"loss": [1, 2, {"9" * 309}], {EPOCHS}}}'),
        "beyond a float",
    ),
    "JSON nested 100,000 deep": (_text("[" * 100_000 + "]" * 100_000), "nested"),
    "CSV field over the csv limit": (
        _text("epoch,loss,val_loss\n0,1.0,\"" + "9" * (csv.field_size_limit() + 1) + '"\n'),
        "invalid CSV",
    ),
    "CSV number beyond a float": (
        _text("epoch,loss,val_loss\n0,1.0,1.0\n1," + "9" * 400 + ",1.0\n"),
        "beyond a float",
    ),
    "/dev/zero": (lambda folder: Path("/dev/zero"), "too large for a history"),
    "a binary file": (_text("\x00\x01"), "binary file"),
    "a huge file": (_huge, "too large for a history"),
    "a directory": (lambda folder: folder, "is a directory"),
}


@pytest.mark.parametrize("case", BAD_HISTORIES, ids=list(BAD_HISTORIES))
@pytest.mark.parametrize("output_format", ["rich", "concise", "json", "sarif", "github"])
def test_bad_history_is_exit_2_one_line_and_a_valid_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, output_format: str
) -> None:
    make, expected = BAD_HISTORIES[case]
    path = make(tmp_path)
    assert main(["check", str(path), "--format", output_format]) == 2
    captured = capsys.readouterr()
    (line,) = captured.err.strip().splitlines()
    assert line.startswith(f"advisor: error: {path}: ") and expected in line
    assert len(line) < 200 and "Traceback" not in captured.err
    if output_format == "json":
        document = json.loads(captured.out)
        validate_json_output(document)
        assert document["errors"] == [line.removeprefix("advisor: error: ")]
    elif output_format == "sarif":
        (run,) = Sarif.model_validate_json(captured.out).runs
        assert run.invocations and not run.invocations[0].execution_successful
    elif output_format == "github":
        assert captured.out == f"::error::{line.removeprefix('advisor: error: ')}\n"


@pytest.mark.parametrize("output_format", ["json", "sarif", "github"])
def test_a_run_that_cannot_start_still_writes_its_document(
    capsys: pytest.CaptureFixture[str], output_format: str
) -> None:
    assert main(["check", str(DEMO), "--select", "no-such-rule", "--format", output_format]) == 2
    out = capsys.readouterr().out
    if output_format == "json":
        validate_json_output(json.loads(out))
        assert "unknown rule 'no-such-rule'" in json.loads(out)["errors"][0]
    elif output_format == "sarif":
        assert Sarif.model_validate_json(out).runs[0].invocations
    else:
        assert out.startswith("::error::unknown rule 'no-such-rule'")


def test_files_after_a_double_dash_are_checked_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    second = tmp_path / "-b.json"  # what "--" is for: a name that looks like an option
    second.write_text(DEMO.read_text())
    assert main(["check", str(DEMO), "--format", "json", "--", str(second)]) == 1
    assert json.loads(capsys.readouterr().out)["files"] == [str(DEMO), str(second)]


@pytest.mark.parametrize("value", ["-3", "0", "1", "two"])
def test_classes_below_two_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], value: str
) -> None:
    assert main(["check", str(DEMO), "--classes", value]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "--classes" in captured.err and "Traceback" not in captured.err
