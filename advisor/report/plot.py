"""Training curves as pictures: what the findings' numbers look like, your plan beside the fix.

:func:`loss_plot` gathers a :class:`LossPlot`: one :class:`Panel` per quantity the user's run
logged (the loss, each compiled metric such as ``accuracy``, each head's loss and metrics) with
its ``val_`` twin, a learning-rate panel when the rate changed in either run, and the epochs each
finding's evidence points at (an evidence value under the key ``epoch`` or a key ending in
``_epoch``: ``monitor_best_epoch``, ``stalled_since_epoch``, ...). The user's run is labelled
"your plan" and the fix's run by the fix's name, and the user's curves are drawn last so a fix
drawn over the same values never hides them.

:class:`TerminalPlot` draws the loss panel with Rich, one glyph per curve so that it reads
without colour too; :mod:`advisor.report.plot_file` draws every panel with matplotlib for
``--plot``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from advisor.findings import Finding
from advisor.history import VALIDATION_PREFIX, Series, TrainingHistory

YOUR_PLAN = "your plan"
LEARNING_RATE = "learning rate"
HEIGHT = 10
MAX_WIDTH = 64
# A log axis when the curves span more than this factor (divergence, early epochs far above).
LOG_SCALE_RATIO = 100.0


@dataclass(frozen=True)
class Curve:
    """One logged series of one run: ``run`` is "your plan" or the fix's name."""

    run: str
    key: str
    epochs: tuple[int, ...]
    values: tuple[float, ...]
    glyph: str
    style: str

    @property
    def label(self) -> str:
        return f"{self.run}: {self.key}"

    @property
    def is_yours(self) -> bool:
        return self.run == YOUR_PLAN

    @property
    def is_validation(self) -> bool:
        return self.key.startswith(VALIDATION_PREFIX)


@dataclass(frozen=True)
class Marker:
    """An epoch a finding's evidence points at (``ADV101`` at epoch 9)."""

    epoch: int
    code: str


@dataclass(frozen=True)
class Panel:
    """One quantity (``loss``, ``accuracy``, ``out_a_loss``, the learning rate), both runs.

    ``curves`` come in drawing order: the fix's first, the user's last (on top).
    """

    name: str
    curves: tuple[Curve, ...]

    def finite_values(self) -> list[float]:
        return [v for c in self.curves for v in c.values if math.isfinite(v)]

    @property
    def log_scale(self) -> bool:
        values = self.finite_values()
        return bool(values) and min(values) > 0 and max(values) / min(values) > LOG_SCALE_RATIO


@dataclass(frozen=True)
class LossPlot:
    title: str
    panels: tuple[Panel, ...]
    markers: tuple[Marker, ...]

    @property
    def curves(self) -> tuple[Curve, ...]:
        """The loss panel's curves: what the terminal draws."""
        return self.panels[0].curves if self.panels else ()

    @property
    def last_epoch(self) -> int:
        epochs = [c.epochs[-1] for p in self.panels for c in p.curves if c.epochs]
        return max(epochs, default=1)


# Glyphs and Rich styles per (run is yours, validation): the terminal's only way to tell
# curves apart without colour; plot_file maps the styles to matplotlib colours.
_STYLES = {
    (True, False): ("·", "cyan"),
    (True, True): ("•", "magenta"),
    (False, False): ("+", "green"),
    (False, True): ("x", "yellow"),
}


def loss_plot(
    history: TrainingHistory,
    findings: Sequence[Finding],
    *,
    fix_history: TrainingHistory | None = None,
    fix_label: str = "fix",
    title: str = "Loss curves",
) -> LossPlot:
    """The curves of ``history`` (and of the fix's), a panel per quantity, findings marked."""
    runs = [(fix_label, fix_history)] if fix_history is not None else []
    runs.append((YOUR_PLAN, history))
    panels = [
        Panel(name, tuple(c for run, h in runs for c in _curves(run, h, (name, f"val_{name}"))))
        for name in _panel_names(history)
    ]
    rates = [(run, h.learning_rate()) for run, h in runs]
    if any(s is not None and len(set(s.values)) > 1 for _, s in rates):
        panels.append(
            Panel(
                LEARNING_RATE,
                tuple(_curve(run, LEARNING_RATE, s) for run, s in rates if s is not None),
            )
        )
    markers = tuple(
        Marker(epoch, finding.code)
        for finding in findings
        for epoch in _evidence_epochs(finding)
        if 1 <= epoch <= history.n_epochs
    )
    return LossPlot(title=title, panels=tuple(p for p in panels if p.curves), markers=markers)


def _panel_names(history: TrainingHistory) -> list[str]:
    """The loss first, then every other training-side quantity in the order Keras logged it."""
    names = list(history.metric_names)
    return ["loss", *(n for n in names if n != "loss")] if "loss" in names else names


def _curves(run: str, history: TrainingHistory, keys: Iterable[str]) -> Iterable[Curve]:
    for key in keys:
        series = history.get(key)
        if series is not None and len(series):
            yield _curve(run, key, series)


def _curve(run: str, key: str, series: Series) -> Curve:
    glyph, style = _STYLES[(run == YOUR_PLAN, key.startswith(VALIDATION_PREFIX))]
    return Curve(run, key, series.epochs, series.values, glyph, style)


def _evidence_epochs(finding: Finding) -> list[int]:
    return sorted(
        {
            value
            for key, value in finding.evidence.items()
            if (key == "epoch" or key.endswith("_epoch")) and isinstance(value, int)
        }
    )


class TerminalPlot:
    """A :class:`LossPlot`'s loss panel as text: a grid of glyphs, the y range, a legend."""

    def __init__(self, plot: LossPlot, *, height: int = HEIGHT) -> None:
        self.plot = plot
        self.height = height

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        plot = self.plot
        panel = plot.panels[0] if plot.panels else Panel("loss", ())
        values = panel.finite_values()
        if not values:
            yield Text(f"{plot.title}: no finite loss values to plot", style="dim")
            return
        scale = (lambda v: math.log10(v)) if panel.log_scale else (lambda v: v)
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
        for curve in panel.curves:  # the user's come last: where two curves meet, theirs shows
            for epoch, value in zip(curve.epochs, curve.values, strict=True):
                if math.isfinite(value):
                    level = (scale(value) - low) / span
                    row_index = self.height - 1 - round(level * (self.height - 1))
                    grid[row_index][column(epoch)] = (curve.glyph, curve.style)
        axis = "log scale" if panel.log_scale else ""
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
        yield from _legend(panel.curves, plot.markers, indent=" " * (margin + 1))


def _legend(curves: Sequence[Curve], markers: Sequence[Marker], *, indent: str) -> RenderResult:
    """One line per run, yours first, and one for the markers, so a long fix name wraps alone."""
    runs: dict[str, list[Curve]] = {}
    for curve in sorted(curves, key=lambda c: not c.is_yours):
        runs.setdefault(curve.run, []).append(curve)
    for run, run_curves in runs.items():
        items = [((c.glyph, c.style), f" {c.key}") for c in run_curves]
        yield _legend_line(f"{indent}{run}: ", items)
    if markers:
        items = [(("│", "red dim"), f" {m.code} epoch {m.epoch}") for m in markers]
        yield _legend_line(indent, items)


def _legend_line(start: str, items: Sequence[tuple[tuple[str, str], str]]) -> Text:
    legend = Text(start)
    for index, ((glyph, style), name) in enumerate(items):
        legend.append("  " if index else "")
        legend.append(glyph, style=style)
        legend.append(name)
    return legend
