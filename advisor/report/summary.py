"""The result of one advisor run, as a Rich renderable and as a plain dict.

``advisor diagnose`` prints it; ``advise()`` returns it (a notebook shows it through
``__rich__`` or ``print``). The fix step's part (before/after table, verdict, code to copy) is
rendered by :mod:`advisor.report.fixes`; this module composes the whole.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from advisor.findings import Finding
from advisor.history import TrainingHistory
from advisor.probe_stats import ProbeStats
from advisor.report.fixes import render_improvement
from advisor.report.plot import LossPlot, TerminalPlot, loss_plot
from advisor.report.tables import findings_table

if TYPE_CHECKING:
    from advisor.fixes.outcome import Improvement
    from advisor.patch.diff import PatchResult


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

    def __rich__(self) -> RenderableType:
        last = self.probe.last_values()
        measured = ", ".join(
            f"{name} {last[name]:.4g}" for name in ("loss", "val_loss") if name in last
        )
        header = Text.assemble(
            ("fit-advisor", "bold"),
            f"  {self.source}\n",
            f"{'your fit' if self.validation == 'user_fit' else 'probing fit'}: "
            f"{self.probe.epochs} epochs in {self.probe.seconds:.1f} s; "
            f"last epoch {measured} (as Keras logs them)",
        )
        parts: list[RenderableType] = [Panel(header, expand=False)]
        parts.extend(Text(f"note: {note}", style="dim") for note in self.notes)
        parts.append(findings_table(self.findings, title="Findings"))
        parts.append(TerminalPlot(self.loss_plot()))
        if self.improvement is not None:
            parts.append(render_improvement(self.improvement, self.patch))
        return Group(*parts)

    def loss_plot(self) -> LossPlot:
        fixes = self.improvement.applied if self.improvement is not None else ()
        return loss_plot(
            self.probe.history,
            self.findings,
            fix_history=self.fix_history,
            fix_label=" + ".join(fixes) or "fix",
            title=f"Loss curves: {self.source}",
        )

    def __str__(self) -> str:
        console = Console(width=110, record=True, file=io.StringIO())
        console.print(self)
        return console.export_text()
