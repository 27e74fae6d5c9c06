"""The terminal summary of one :class:`~advisor.outcomes.report.AdviceReport`.

``advisor diagnose`` prints it (through the ``rich`` format); ``print(report)`` and a notebook
show it too. The fix step's part (before/after table, verdict, code to copy) is rendered by
:mod:`advisor.report.fixes`; this module composes the whole.
"""

from __future__ import annotations

import io

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from advisor.outcomes.report import RENDERERS, AdviceReport
from advisor.report.plot import LossPlot, TerminalPlot, loss_plot
from advisor.report.tables import findings_table


def render_report(report: AdviceReport) -> RenderableType:
    """Header (what the probe measured), notes, findings, loss plot and the fix section."""
    from advisor.report.fixes import render_improvement  # the fix step's code, only when shown

    last = report.probe.last_values()
    measured = ", ".join(
        f"{name} {last[name]:.4g}" for name in ("loss", "val_loss") if name in last
    )
    header = Text.assemble(
        ("fit-advisor", "bold"),
        f"  {report.source}\n",
        f"{'your fit' if report.validation == 'user_fit' else 'probing fit'}: "
        f"{report.probe.epochs} epochs in {report.probe.seconds:.1f} s; "
        f"last epoch {measured} (as Keras logs them)",
    )
    parts: list[RenderableType] = [Panel(header, expand=False)]
    parts.extend(Text(f"note: {note}", style="dim") for note in report.notes)
    parts.append(findings_table(report.findings, title="Findings"))
    parts.append(TerminalPlot(report_loss_plot(report)))
    if report.improvement is not None:
        parts.append(render_improvement(report.improvement, report.patch))
    return Group(*parts)


def report_loss_plot(report: AdviceReport) -> LossPlot:
    """The probe's loss curves, the adopted fix's beside them, the findings' epochs marked."""
    fixes = report.improvement.applied if report.improvement is not None else ()
    return loss_plot(
        report.probe.history,
        report.findings,
        fix_history=report.fix_history,
        fix_label=" + ".join(fixes) or "fix",
        title=f"Loss curves: {report.source}",
    )


def report_text(report: AdviceReport) -> str:
    """The summary as plain text, 110 columns wide, for ``print(report)``."""
    console = Console(width=110, record=True, file=io.StringIO())
    console.print(render_report(report))
    return console.export_text()


RENDERERS.update(rich=render_report, text=report_text)
