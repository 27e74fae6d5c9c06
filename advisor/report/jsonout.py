"""``--format json``: one versioned document shape, whatever the command and number of files.

Every JSON output carries ``schema_version`` and validates against the committed JSON Schema
:data:`SCHEMA_PATH` (``advisor/report/schema/report-v1.json``). ``findings`` lists every finding
with its ``file``; ``diagnose`` adds one entry per script under ``reports``. NaN and inf
become strings, so any parser accepts the output.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from advisor.report.formats import Format
from advisor.report.results import Results
from advisor.version import installed_version

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).parent / "schema" / f"report-v{SCHEMA_VERSION}.json"


def tool() -> dict[str, str]:
    """The ``tool`` object of every document: this package's name and installed version."""
    return {"name": "fit-advisor", "version": installed_version()}


def document(results: Results) -> dict[str, Any]:
    """The JSON document of ``check`` or ``diagnose`` (``reports`` only for ``diagnose``)."""
    payload: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": tool(),
        "command": results.command,
        "files": [entry.path for entry in results.located],
        "findings": [
            {"file": entry.path, "line": entry.line, **f.to_dict()}
            for entry in results.located
            for f in entry.findings
        ],
        "errors": list(results.errors),
    }
    if results.command == "diagnose":
        payload["reports"] = [report.to_dict() for report in results.reports]
    return payload


def rules_document(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The JSON document of ``advisor rules``."""
    return {"schema_version": SCHEMA_VERSION, "tool": tool(), "command": "rules", "rules": rows}


def _strict(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {str(k): _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    return value


def dumps(payload: Any) -> str:
    return json.dumps(_strict(payload), indent=2, allow_nan=False, default=str)


def emit(payload: Any, out: TextIO) -> None:
    """Write ``payload`` to ``out`` verbatim: no Rich markup, wrapping or colour."""
    out.write(dumps(payload) + "\n")


FORMAT = Format(
    name="json",
    write=lambda results, out: emit(document(results), out),
)
