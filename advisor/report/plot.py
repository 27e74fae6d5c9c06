"""Loss curves as a small terminal plot: what the findings' numbers look like.

:func:`loss_plot` gathers the curves (the probe's ``loss`` and ``val_loss``, and the chosen
fix's when there is one) and marks the epoch each finding's evidence points at: an evidence
value under the key ``epoch`` or a key ending in ``_epoch`` (``monitor_best_epoch``,
``stalled_since_epoch``, ...). :class:`TerminalPlot` draws it with Rich, one glyph per curve
so that it reads without colour too; :mod:`advisor.report.plot_file` draws the same
:class:`LossPlot` with matplotlib for ``--plot``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from advisor.findings import Finding
from advisor.history import TrainingHistory

LOSS_KEYS = ("loss", "val_loss")
HEIGHT = 10
MAX_WIDTH = 64
# A log axis when the curves span more than this factor (divergence, early epochs far above).
LOG_SCALE_RATIO = 100.0


@dataclass(frozen=True)
class Curve:
    label: str
    epochs: tuple[int, ...]
    values: tuple[float, ...]
    glyph: str
    style: str


@dataclass(frozen=True)
class Marker:
    """An epoch a finding's evidence points at (``ADV101`` at epoch 9)."""

    epoch: int
    code: str


@dataclass(frozen=True)
class LossPlot:
    title: str
    curves: tuple[Curve, ...]
    markers: tuple[Marker, ...]

    @property
    def last_epoch(self) -> int:
        return max((c.epochs[-1] for c in self.curves if c.epochs), default=1)

    def finite_values(self) -> list[float]:
        return [v for c in self.curves for v in c.values if math.isfinite(v)]

    @property
    def log_scale(self) -> bool:
        values = self.finite_values()
        return bool(values) and min(values) > 0 and max(values) / min(values) > LOG_SCALE_RATIO


_STYLES = {
    ("probe", "loss"): ("·", "cyan"),
    ("probe", "val_loss"): ("•", "magenta"),
    ("fix", "loss"): ("+", "green"),
    ("fix", "val_loss"): ("x", "yellow"),
}


def loss_plot(
    history: TrainingHistory,
    findings: Sequence[Finding],
    *,
    fix_history: TrainingHistory | None = None,
    fix_label: str = "fix",
    title: str = "Loss curves",
) -> LossPlot:
    """The loss curves of ``history`` (and of the fix's), with the findings' epochs marked."""
    curves = list(_curves(history, "probe", ""))
    if fix_history is not None:
        curves += _curves(fix_history, "fix", f"{fix_label}: ")
    markers = tuple(
        Marker(epoch, finding.code)
        for finding in findings
        for epoch in _evidence_epochs(finding)
        if 1 <= epoch <= history.n_epochs
    )
    return LossPlot(title=title, curves=tuple(curves), markers=markers)


def _curves(history: TrainingHistory, run: str, prefix: str) -> Iterable[Curve]:
    for key in LOSS_KEYS:
        series = history.get(key)
        if series is not None and len(series):
            glyph, style = _STYLES[(run, key)]
            yield Curve(f"{prefix}{key}", series.epochs, series.values, glyph, style)


def _evidence_epochs(finding: Finding) -> list[int]:
    return sorted(
        {
            value
            for key, value in finding.evidence.items()
            if (key == "epoch" or key.endswith("_epoch")) and isinstance(value, int)
        }
    )


class TerminalPlot:
    """A :class:`LossPlot` as text: a grid of glyphs, the y range, epochs, a legend."""

    def __init__(self, plot: LossPlot, *, height: int = HEIGHT) -> None:
        self.plot = plot
        self.height = height

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        plot = self.plot
        values = plot.finite_values()
        if not values:
            yield Text(f"{plot.title}: no finite loss values to plot", style="dim")
            return
        scale = (lambda v: math.log10(v)) if plot.log_scale else (lambda v: v)
        low, high = scale(min(values)), scale(max(values))
        span = (high - low) or 1.0
        labels = (f"{max(values):.4g}", f"{min(values):.4g}")
        margin = max(len(label) for label in labels) + 1
        width = max(10, min(MAX_WIDTH, options.max_width - margin - 2))
        last = plot.last_epoch

        def column(epoch: int) -> int:
            return round((epoch - 1) / max(last - 1, 1) * (width - 1))

        grid: list[list[tuple[str, str]]] = [[(" ", "")] * width for _ in range(self.height)]
        for marker in plot.markers:
            for cells in grid:
                cells[column(marker.epoch)] = ("│", "red dim")
        for curve in plot.curves:
            for epoch, value in zip(curve.epochs, curve.values, strict=True):
                if math.isfinite(value):
                    level = (scale(value) - low) / span
                    row_index = self.height - 1 - round(level * (self.height - 1))
                    grid[row_index][column(epoch)] = (curve.glyph, curve.style)
        axis = "log scale" if plot.log_scale else ""
        yield Text.assemble((plot.title, "bold"), f"  {axis}" if axis else "")
        for index, cells in enumerate(grid):
            label = labels[0] if index == 0 else labels[1] if index == self.height - 1 else ""
            line = Text(f"{label:>{margin - 1}} ┤" if label else " " * margin + "│")
            for glyph, style in cells:
                line.append(glyph, style=style)
            yield line
        yield Text(" " * margin + "└" + "─" * width)
        epochs = f"epoch 1{'':>{width - 2 - len(str(last)) - 6}}{last}"
        yield Text(" " * (margin + 1) + epochs)
        # One legend line per run and one for the markers, so a long fix label wraps alone.
        runs: dict[str, list[Curve]] = {}
        for curve in plot.curves:
            runs.setdefault(curve.label.rpartition(": ")[0], []).append(curve)
        for curves in runs.values():
            legend = Text(" " * (margin + 1))
            for curve in curves:
                legend.append(curve.glyph, style=curve.style)
                legend.append(f" {curve.label}  ")
            yield legend
        if plot.markers:
            legend = Text(" " * (margin + 1))
            for marker in plot.markers:
                legend.append("│", style="red dim")
                legend.append(f" {marker.code} epoch {marker.epoch}  ")
            yield legend
