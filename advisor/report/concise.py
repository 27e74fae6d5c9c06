"""``--format concise``: one ``path:line:col: CODE message`` line per finding, as ruff's and
flake8's default output, then the totals; for editors' problem matchers and ``grep``.

A history's findings are about the whole file, so they point at line 1, column 1; a script's
at its ``fit`` call's line.
"""

from __future__ import annotations

from typing import TextIO

from advisor.report.formats import Format
from advisor.report.located import described
from advisor.report.results import Results
from advisor.report.words import summary_text


def lines(results: Results) -> list[str]:
    found = [
        f"{entry.path}:{entry.line or 1}:1: {finding.code} {described(finding)}"
        for entry in results.located
        for finding in entry.findings
    ]
    if results.located:
        found.append(summary_text(results.findings, len(results.located)))
    return found


def write(results: Results, out: TextIO) -> None:
    out.write("".join(line + "\n" for line in lines(results)))


FORMAT = Format(name="concise", write=write)
