"""Plots a person wants to look at: both runs visible, a panel per metric, labels uncovered."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from advisor.engine import run_rules
from advisor.history import TrainingHistory, as_history, load_history
from advisor.report.plot import (
    LEARNING_RATE,
    YOUR_PLAN,
    LossPlot,
    Marker,
    TerminalPlot,
    loss_plot,
)
from advisor.rule import RuleContext
from tests.conftest import FIXTURES

DEMO = FIXTURES / "histories" / "demo_overfitting.json"


def _fix_run(history: TrainingHistory, *, rate: list[float] | None = None) -> TrainingHistory:
    """A second run: the same curves a little lower, with an optional learning-rate log."""
    logs = {name: [v * 0.9 for v in s.values] for name, s in history.series.items()}
    if rate is not None:
        logs["learning_rate"] = rate
    return as_history(logs)


def test_a_panel_per_compiled_metric_and_the_users_curves_drawn_last() -> None:
    history = load_history(DEMO)
    plot = loss_plot(history, [], fix_history=_fix_run(history), fix_label="early-stopping")
    assert [p.name for p in plot.panels] == ["loss", "accuracy"]
    for panel in plot.panels:
        assert [c.run for c in panel.curves] == ["early-stopping"] * 2 + [YOUR_PLAN] * 2
        assert {c.key for c in panel.curves} == {panel.name, f"val_{panel.name}"}


def test_each_heads_loss_and_metric_get_a_panel() -> None:
    logs = {
        name: [1.0, 0.8, 0.7]
        for head in ("", "out_a_", "out_b_")
        for name in (f"{head}loss", f"val_{head}loss")
    }
    logs |= {"out_a_accuracy": [0.5, 0.6, 0.7], "val_out_a_accuracy": [0.5, 0.55, 0.6]}
    plot = loss_plot(as_history(logs), [])
    assert [p.name for p in plot.panels] == ["loss", "out_a_loss", "out_b_loss", "out_a_accuracy"]


def test_the_learning_rate_has_a_panel_only_when_it_changes() -> None:
    history = load_history(DEMO)
    n = history.n_epochs
    steady = loss_plot(history, [], fix_history=_fix_run(history, rate=[1e-3] * n))
    assert LEARNING_RATE not in [p.name for p in steady.panels]
    decayed = _fix_run(history, rate=[1e-3] * (n // 2) + [5e-4] * (n - n // 2))
    plot = loss_plot(history, [], fix_history=decayed, fix_label="lr-decay")
    (rate,) = [p for p in plot.panels if p.name == LEARNING_RATE]
    assert [c.run for c in rate.curves] == ["lr-decay"]


def test_terminal_plot_keeps_the_users_curve_visible_under_an_identical_fix() -> None:
    history = load_history(DEMO)
    plot = loss_plot(history, [], fix_history=history, fix_label="early-stopping")
    console = Console(file=io.StringIO(), width=80)
    console.print(TerminalPlot(plot))
    lines = console.file.getvalue().splitlines()  # type: ignore[attr-defined]
    grid = "".join(line for line in lines if "┤" in line or line.strip().startswith("│"))
    # Where both runs are at the same point the user's glyphs (· •) win over the fix's (+ x).
    assert "·" in grid and "•" in grid and "+" not in grid and "x" not in grid
    assert any(line.strip().startswith("your plan: ") for line in lines)


@pytest.mark.parametrize("fix", [False, True])
def test_picture_labels_are_inside_the_figure_and_clear_of_the_legend(fix: bool) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from advisor.report.plot_file import figure_of

    history = load_history(DEMO)
    findings = run_rules(history, RuleContext())
    plot = loss_plot(
        history, findings, fix_history=_fix_run(history) if fix else None, fix_label="dropout"
    )
    # A second marker near the right edge: its label must face inwards, not off the figure.
    plot = LossPlot(plot.title, plot.panels, (*plot.markers, Marker(118, "ADV199")))
    figure = figure_of(plot)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    (legend,) = figure.legends
    legend_box = legend.get_window_extent(renderer)
    labels = [t for t in figure.axes[0].texts if "epoch" in t.get_text()]
    assert len(labels) == 2
    for label in labels:
        box = label.get_window_extent(renderer)
        assert not box.overlaps(legend_box)
        assert figure.bbox.x0 <= box.x0 and box.x1 <= figure.bbox.x1
    entries = [t.get_text() for t in legend.get_texts()]
    assert entries[:2] == ["your plan: training", "your plan: validation"]
    assert ("dropout: validation" in entries) is fix
