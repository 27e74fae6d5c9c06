"""Shared test set-up: quiet TensorFlow logs, paths to the bundled fixtures, and the costly
runs that several test modules read."""

from __future__ import annotations

import io
import json
import os
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from advisor.cli import main
from advisor.report.jsonout import SCHEMA_PATH

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"

_JSON_SCHEMA = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))


def validate_json_output(document: Any) -> None:
    """The committed JSON Schema accepts ``document`` (raises naming the offending path if not)."""
    _JSON_SCHEMA.validate(document)


@dataclass(frozen=True)
class FixedRun:
    """What one ``advisor diagnose`` that fixes and exports gave: its exit code, its one JSON
    report, its stderr, the saved model and whether the script's bytes stayed as they were."""

    code: int
    report: dict[str, Any]
    err: str
    export: Path
    script_unchanged: bool


MISSING_VALUES = FIXTURES / "scripts" / "missing_values_cancer.py"
# The tests reading the shared run below carry this mark, so loadgroup keeps them on the one
# worker whose session made the run.
MISSING_VALUES_RUN = pytest.mark.xdist_group("missing-values-fixed")


@pytest.fixture(scope="session")
def missing_values_fixed(tmp_path_factory: pytest.TempPathFactory) -> FixedRun:
    """``advisor diagnose --format json --epochs 8 --export`` of missing_values_cancer.py, run
    once for the tests that check different things of the same costly run (its report and
    export; the patch it prints, applied). Session-scoped: under pytest-xdist a worker
    interleaves other modules' tests, which would tear a module-scoped fixture down."""
    export = tmp_path_factory.mktemp("missing-values") / "fixed.keras"
    options = ("--format", "json", "--epochs", "8", "--export", str(export))
    before = MISSING_VALUES.read_bytes()
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["diagnose", *options, str(MISSING_VALUES)])
    document = json.loads(out.getvalue())
    validate_json_output(document)
    (report,) = document["reports"]
    return FixedRun(code, report, err.getvalue(), export, MISSING_VALUES.read_bytes() == before)
