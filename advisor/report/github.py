"""``--format github``: GitHub Actions workflow commands, one annotation per finding.

``::warning file=F,line=L,title=T::message`` puts the finding on the file (and the ``fit`` call's
line) in the pull request's diff view. Values are escaped as the Actions runner requires:
``%``, CR and LF everywhere, and also ``:`` and ``,`` inside properties.
"""

from __future__ import annotations

from typing import TextIO

from advisor.findings import Severity
from advisor.report.formats import Format
from advisor.report.located import described
from advisor.report.results import Results

COMMANDS = {Severity.INFO: "notice", Severity.WARNING: "warning", Severity.ERROR: "error"}


def workflow_commands(results: Results) -> list[str]:
    """One workflow command per finding, then one ``::error::`` per file that failed."""
    lines = []
    for entry in results.located:
        for finding in entry.findings:
            properties = {"file": entry.path, "line": str(entry.line or 1)}
            properties["title"] = f"{finding.code} {finding.rule}"
            joined = ",".join(f"{k}={_property(v)}" for k, v in properties.items())
            lines.append(f"::{COMMANDS[finding.severity]} {joined}::{_data(described(finding))}")
    lines.extend(f"::error::{_data(line)}" for line in results.errors)
    return lines


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def _write(results: Results, out: TextIO) -> None:
    out.write("".join(line + "\n" for line in workflow_commands(results)))


FORMAT = Format(name="github", write=_write)
