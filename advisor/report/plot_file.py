"""``--plot PATH``: the terminal plot's :class:`LossPlot` drawn by matplotlib as PNG or SVG.

matplotlib is an optional extra (``pip install 'fit-advisor[plot]'``) and is imported only here,
when a plot is written, so ``advisor check`` without ``--plot`` never loads it. The figure is
built with :class:`matplotlib.figure.Figure` directly (no pyplot), so no GUI backend is chosen.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from advisor.errors import AdvisorError
from advisor.report.plot import LossPlot
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
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4), dpi=120, layout="constrained")
    axes = figure.add_subplot()
    for curve in plot.curves:
        dashed = curve.label.endswith("val_loss")
        axes.plot(
            curve.epochs,
            curve.values,
            label=curve.label,
            color=COLOURS[curve.style],
            linestyle="--" if dashed else "-",
            marker="." if len(curve.epochs) < 60 else None,
        )
    for marker in plot.markers:
        axes.axvline(marker.epoch, color="grey", linestyle=":", linewidth=1)
        axes.annotate(
            f"{marker.code} (epoch {marker.epoch})",
            xy=(marker.epoch, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(3, -12),
            textcoords="offset points",
            fontsize=8,
            color="dimgrey",
        )
    if plot.log_scale:
        axes.set_yscale("log")
    axes.set_title(plot.title)
    axes.set_xlabel("epoch")
    axes.set_ylabel("loss")
    axes.legend(fontsize=8)
    write_new_file(path, figure.savefig)
    print_problem(err, f"wrote the loss plot to {path}", kind="info")
