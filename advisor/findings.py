"""What a rule reports: a :class:`Finding`, with its severity, evidence and suggested fixes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Severity(str, Enum):
    """How bad a finding is; ordered so that ``--fail-on`` can compare them."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}

# The ids of the fixes a finding may suggest: the fix step maps each onto a plan transformation.
FIX_IDS = (
    "standardize",
    "impute",
    "scale-target",
    "dropout",
    "l2",
    "early-stopping",
    "lr-decay",
    "lower-lr",
    "bigger-model",
    "train-longer",
    "repair-head",
    "elastic-net",
    "relu-he",
    "batch-norm",
    "clip-gradients",
    "adaptive-optimizer",
    "augment",
    "shuffle-split",
    "class-weight",
)


@dataclass(frozen=True)
class Finding:
    """One problem found by one rule.

    ``rule`` is the stable slug (a public contract), ``code`` the short ruff-style code.
    ``evidence`` holds the numbers behind ``message`` (epochs, values) so that JSON consumers
    need not parse prose; ``fixes`` are fix ids from :data:`FIX_IDS`, best first.
    """

    rule: str
    code: str
    severity: Severity
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    fixes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "evidence": dict(self.evidence),
            "fixes": list(self.fixes),
        }
