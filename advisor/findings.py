"""What a rule reports: a :class:`Finding`, with its severity, evidence and suggested fixes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from advisor.fix import Direction


class Severity(str, Enum):
    """How bad a finding is; ordered so that ``--fail-on`` can compare them."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}

@dataclass(frozen=True)
class Finding:
    """One problem found by one rule.

    ``rule`` is the stable slug (a public contract), ``code`` the short ruff-style code.
    ``evidence`` holds the numbers behind ``message`` (epochs, values) so that JSON consumers
    need not parse prose; ``fixes`` are fix ids from :data:`FIX_IDS`, best first.
    ``explained_by`` is the id of the rule whose finding explains this one (it is listed
    after that finding, as its consequence); None when nothing else explains it.
    ``directions`` says which way the finding opens a fix's search space, relative to the
    user's own value: ``{"lower-lr": "down"}`` for every searched knob of that fix, or
    ``{"lower-lr.factor": "down"}`` for one knob (a diverging run points the learning rate
    down, a stall with tiny updates points it up). A knob a finding says nothing about is
    searched on both sides (see :func:`advisor.search.open_space`).
    """

    rule: str
    code: str
    severity: Severity
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    fixes: tuple[str, ...] = ()
    explained_by: str | None = None
    directions: Mapping[str, Direction] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        opened = {"directions": dict(self.directions)} if self.directions else {}
        return {
            "rule": self.rule,
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "evidence": dict(self.evidence),
            "fixes": list(self.fixes),
            "explained_by": self.explained_by,
            **opened,
        }


def __getattr__(name: str) -> tuple[str, ...]:
    """``FIX_IDS``: the ids of the fixes a finding may suggest, read from the fix registry
    (``fit_advisor.fixes``) on first use, so a rule pack's own fix counts too."""
    if name == "FIX_IDS":
        from advisor.fix_registry import load_fixes

        return load_fixes().ids
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
