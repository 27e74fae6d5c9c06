"""Counts said in words, singular or plural as the number asks ("1 finding", "2 warnings")."""

from __future__ import annotations

from collections.abc import Sequence

from advisor.findings import Finding, Severity

# Nouns whose plural is not the singular plus "s".
_PLURALS = {"info": "info"}


def counted(number: int, noun: str) -> str:
    """``1 file``, ``2 files``, ``0 findings``."""
    return f"{number} {noun if number == 1 else _PLURALS.get(noun, noun + 's')}"


def summary_text(findings: Sequence[Finding], n_files: int) -> str:
    """The last line of a check: how many findings of which severity, in how many files."""
    files = counted(n_files, "file")
    if not findings:
        return f"All clear: no findings in {files}."
    by_severity = [
        counted(sum(1 for f in findings if f.severity is severity), severity.value)
        for severity in reversed(Severity)
        if any(f.severity is severity for f in findings)
    ]
    return f"Found {counted(len(findings), 'finding')} in {files}: {', '.join(by_severity)}."
