"""What every output format receives: one command's located findings, its errors, the rules
that ran and, for ``diagnose``, the typed report of each script."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from advisor.findings import Finding
from advisor.report.located import Located

if TYPE_CHECKING:  # names only: `advisor check` has no diagnose report to load
    from advisor.outcomes.report import AdviceReport
    from advisor.rule import Rule


@dataclass(frozen=True)
class Results:
    """The outcome of ``advisor check`` or ``advisor diagnose``, whatever the format."""

    command: Literal["check", "diagnose"]
    located: Sequence[Located]
    # One line per file that could not be judged (or per problem with the whole run).
    errors: Sequence[str] = ()
    rules: Sequence[Rule] = ()
    # diagnose only: one report per diagnosed script, in the order of ``located``.
    reports: Sequence[AdviceReport] = ()

    @property
    def findings(self) -> list[Finding]:
        return [finding for entry in self.located for finding in entry.findings]
