"""The machine-readable outputs of ``check`` and ``diagnose``: JSON, SARIF, GitHub annotations.

Both commands hand their located findings here, so a format is written one way only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console

from advisor.report import github, jsonout
from advisor.report.located import Located
from advisor.report.sarif import sarif_log
from advisor.rule import Rule

MACHINE_FORMATS = ("json", "sarif", "github")


def emit(
    output_format: str,
    *,
    command: str,
    located: Sequence[Located],
    errors: Sequence[str],
    rules: Sequence[Rule],
    out: Console,
    reports: Sequence[Mapping[str, Any]] | None = None,
) -> None:
    """Write the findings to ``out`` in ``output_format``, one of :data:`MACHINE_FORMATS`."""
    if output_format == "json":
        jsonout.emit(jsonout.document(command, located, errors, reports), out)
    elif output_format == "sarif":
        jsonout.emit(sarif_log(located, errors, rules), out)
    else:
        out.file.write("".join(line + "\n" for line in github.workflow_commands(located, errors)))
