"""The one-line ``advisor: error: ...`` message, as grep and CI logs expect it.

Written without Rich, so that a check in a machine format or ``concise`` never loads it; the
Rich consoles of ``diagnose`` print the same line through
:func:`advisor.report.tables.print_problem`.
"""

from __future__ import annotations

import sys


def problem_line(message: str, *, kind: str = "error") -> str:
    return f"advisor: {kind}: {message}"


def report_problem(message: str, *, kind: str = "error") -> None:
    """The line on standard error, unwrapped and unstyled."""
    sys.stderr.write(problem_line(message, kind=kind) + "\n")
    sys.stderr.flush()
