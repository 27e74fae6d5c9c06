"""The result of one advisor run: the probe's measurements, the findings and, after a fix
step, the measured improvement.

``pipeline`` and ``Monitor`` build an :class:`AdviceReport`; ``advise()`` returns it; every
output format (:mod:`advisor.report.formats`) reads it. It holds data only: how it looks is
the report layer's business, which a ``print(report)`` reaches through ``__str__``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from advisor.findings import Finding
from advisor.history import TrainingHistory
from advisor.probe_stats import ProbeStats

if TYPE_CHECKING:
    from rich.console import RenderableType

    from advisor.outcomes.improvement import Improvement
    from advisor.outcomes.patch import PatchResult


@dataclass(frozen=True)
class ProbeSummary:
    """What the probing fit measured: its epochs, the last value of each logged series and,
    when instrumented, the per-layer gradient and activation statistics."""

    epochs: int
    seconds: float
    history: TrainingHistory
    stats: ProbeStats | None = None

    def last_values(self) -> dict[str, float]:
        return {name: s.values[-1] for name, s in self.history.series.items() if s.values}

    def to_dict(self) -> dict[str, Any]:
        return {
            "epochs": self.epochs,
            "seconds": round(self.seconds, 3),
            "history": {name: list(s.values) for name, s in self.history.series.items()},
            "instrumentation": None if self.stats is None else self.stats.to_dict(),
        }


@dataclass(frozen=True)
class AdviceReport:
    """Findings, notes and timings of one run; ``improvement`` when fixes were applied."""

    source: str
    findings: Sequence[Finding]
    probe: ProbeSummary
    # Where validation data came from: "validation_data", "validation_split" or "advisor_holdout"
    # ("user_fit" from advisor.Monitor, which sees the user's own fit but not how it was given).
    validation: str = "validation_data"
    notes: Sequence[str] = ()
    timings: Mapping[str, float] = field(default_factory=dict)
    improvement: Improvement | None = None
    # The adopted fix's own training curves, for the loss plot.
    fix_history: TrainingHistory | None = None
    # The line of the script's ``fit`` call, where SARIF and annotations locate the findings.
    fit_line: int | None = None
    # The adopted fix as a diff of the user's script (only ``diagnose`` has a script).
    patch: PatchResult | None = None

    @property
    def fixed_model(self) -> Any:
        """The model to use: the fixed one when a fix helped, else the baseline (or None)."""
        return None if self.improvement is None else self.improvement.model

    def to_dict(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "source": self.source,
            "findings": [f.to_dict() for f in self.findings],
            "notes": list(self.notes),
            "validation": self.validation,
            "probe": self.probe.to_dict(),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }
        if self.improvement is not None:
            payload.update(self.improvement.to_dict())
        if self.patch is not None:
            payload["diff"] = self.patch.diff
            payload["diff_not_applied"] = list(self.patch.not_applied)
        return payload

    # A notebook or ``print(report)`` shows the terminal summary. The report layer installs
    # its renderers in :data:`RENDERERS` when it is imported (the Python API and Monitor import
    # it), so this data layer needs neither Rich nor the report layer.
    def __rich__(self) -> RenderableType:
        rendered: RenderableType = RENDERERS["rich"](self)
        return rendered

    def __str__(self) -> str:
        render = RENDERERS.get("text")
        return super().__str__() if render is None else str(render(self))


# How reports render, by name ("rich", "text"): filled by ``advisor.report.summary``.
RENDERERS: dict[str, Callable[[AdviceReport], Any]] = {}
