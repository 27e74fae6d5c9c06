"""Findings together with the place they belong to, for the machine-readable outputs.

``advisor check`` locates a history's findings at the history file; ``advisor diagnose`` at the
line of the script's ``fit`` call, so that code scanning and workflow annotations point there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from advisor.findings import Finding


@dataclass(frozen=True)
class Located:
    """The findings on one file; ``line`` is the ``fit`` call's line, None for a history."""

    path: str
    findings: Sequence[Finding]
    line: int | None = None


def described(finding: Finding) -> str:
    """The finding's message, naming the finding that explains it when another one does."""
    if finding.explained_by is None:
        return finding.message
    return f"{finding.message} (a consequence of {finding.explained_by})"
