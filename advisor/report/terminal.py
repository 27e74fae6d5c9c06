"""``--format rich`` (the default): tables and the diagnose summary, drawn by Rich.

To a terminal it writes Rich's own output, colours and all. Anywhere else (a pipe, a file, a
CI log) it writes the same layout as plain text without the trailing spaces Rich pads lines
with, so ``grep`` and ``diff`` see only what is there.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TextIO

from rich.console import Console, RenderableType

from advisor.report.formats import Format
from advisor.report.results import Results
from advisor.report.tables import findings_table, summary_line


def renderables(results: Results) -> list[RenderableType]:
    """One summary per diagnosed script; for ``check``, a table per file and the totals."""
    if results.reports:
        from advisor.report.summary import render_report  # plots and fix tables: diagnose only

        return [render_report(report) for report in results.reports]
    parts: list[RenderableType] = [
        findings_table(entry.findings, title=entry.path) for entry in results.located
    ]
    if results.located:
        parts.append(summary_line(results.findings, len(results.located)))
    return parts


def show(parts: Sequence[RenderableType], out: TextIO) -> None:
    """Print ``parts`` with Rich to a terminal; elsewhere as plain text, lines right-trimmed.

    Emoji codes are left as written: the report has none of its own, so a ``:name:`` in a
    path or metric name is printed as it is, and Rich's emoji table (a tenth of ``advisor
    check``'s time) is never loaded."""
    if out.isatty():
        console = Console(file=out, emoji=False)
        for part in parts:
            console.print(part)
        return
    buffer = io.StringIO()
    console = Console(file=buffer, color_system=None, emoji=False)
    for part in parts:
        console.print(part)
    out.write("".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines()))


FORMAT = Format(
    name="rich",
    write=lambda results, out: show(renderables(results), out),
)
