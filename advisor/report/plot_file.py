"""``--plot PATH``: a :class:`LossPlot`'s panels drawn by matplotlib as PNG or SVG.

matplotlib is an optional extra (``pip install 'fit-advisor[plot]'``) and is imported only here,
when a plot is written, so ``advisor check`` without ``--plot`` never loads it. The figure is
built with :class:`matplotlib.figure.Figure` directly (no pyplot), so no GUI backend is chosen.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from advisor.errors import AdvisorError
from advisor.report.plot import LEARNING_RATE, YOUR_PLAN, LossPlot, Panel
from advisor.report.tables import print_problem
from advisor.user_files import claim_new_file, write_new_file

SUFFIXES = (".png", ".svg")
# matplotlib colours for the terminal styles, so both plots tell the curves apart alike.
COLOURS = {"cyan": "tab:blue", "magenta": "tab:red", "green": "tab:green", "yellow": "tab:orange"}


def check_plot_path(path: Path, *, inputs: Sequence[Path]) -> Path:
    """``path`` made absolute, or refused before any work: several runs for one picture, a
    suffix we do not write, an existing file (never overwritten), a folder that is missing or
    cannot be written, or no matplotlib."""
    if len(inputs) > 1:
        raise AdvisorError(f"--plot draws one run; got {len(inputs)} inputs")
    if path.suffix.lower() not in SUFFIXES:
        raise AdvisorError(f"{path}: --plot writes {' or '.join(SUFFIXES)} files")
    target = claim_new_file(path)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise AdvisorError("--plot needs matplotlib: pip install 'fit-advisor[plot]'") from None
    return target


def write_plot(plot: LossPlot, path: Path, *, err: Console) -> None:
    """Draw ``plot`` into ``path`` (PNG or SVG by its suffix) and say so on ``err``."""
    write_new_file(path, figure_of(plot).savefig)
    print_problem(err, f"wrote the loss plot to {path}", kind="info")


def figure_of(plot: LossPlot) -> Any:
    """``plot`` as a matplotlib ``Figure``: a panel per quantity, two columns when there are
    several; the legend sits below the panels and the findings' labels inside the top panel,
    pointing inwards, so neither covers the other nor is clipped at an edge."""
    from matplotlib.figure import Figure

    columns = 1 if len(plot.panels) == 1 else 2
    rows = max(1, math.ceil(len(plot.panels) / columns))
    figure = Figure(figsize=(5 + 3.5 * columns, 1.2 + 2.9 * rows), dpi=120, layout="constrained")
    grid = figure.subplots(rows, columns, sharex=True, squeeze=False)
    for axes, panel in zip(grid.flat, plot.panels, strict=False):
        _draw_panel(axes, panel, plot)
    for axes in grid.flat[len(plot.panels) :]:
        axes.set_visible(False)
    _label_markers(grid.flat[0], plot)
    handles: dict[str, Any] = {}
    for axes in grid.flat:
        for handle, label in zip(*axes.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    yours = sorted(handles, key=lambda label: not label.startswith(YOUR_PLAN))
    figure.legend(
        [handles[label] for label in yours],
        yours,
        loc="outside lower center",
        ncols=min(len(yours), 4),
        fontsize=8,
    )
    figure.suptitle(plot.title)
    return figure


def _draw_panel(axes: Any, panel: Panel, plot: LossPlot) -> None:
    """The fix's curves dashed and thin, the user's solid with points and on top."""
    for curve in panel.curves:
        few = len(curve.epochs) < 60
        axes.plot(
            curve.epochs,
            curve.values,
            label=f"{curve.run}: {'validation' if curve.is_validation else 'training'}",
            color=COLOURS[curve.style],
            linestyle="-" if curve.is_yours else "--",
            linewidth=2.0 if curve.is_yours else 1.4,
            marker="o" if curve.is_yours and few else None,
            markersize=3,
            alpha=1.0 if curve.is_yours else 0.85,
            zorder=3 if curve.is_yours else 2,
        )
    for marker in plot.markers:
        axes.axvline(marker.epoch, color="grey", linestyle=":", linewidth=1, zorder=1)
    if panel.log_scale or panel.name == LEARNING_RATE:
        axes.set_yscale("log")
    axes.set_ylabel(panel.name)
    axes.set_xlabel("epoch")
    axes.grid(alpha=0.25)


def _label_markers(axes: Any, plot: LossPlot) -> None:
    """Each finding's code and epoch at the top of ``axes``, facing into the panel: labels
    right of the middle are right-aligned, and neighbours step down so they do not overlap."""
    axes.margins(y=0.2)
    middle = (1 + plot.last_epoch) / 2
    for index, marker in enumerate(sorted(plot.markers, key=lambda m: m.epoch)):
        right = marker.epoch > middle
        axes.annotate(
            f"{marker.code} (epoch {marker.epoch})",
            xy=(marker.epoch, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(-3 if right else 3, -12 - 11 * (index % 3)),
            textcoords="offset points",
            horizontalalignment="right" if right else "left",
            fontsize=8,
            color="dimgrey",
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"},
            zorder=4,
        )
