"""The fix section of the report: what was tried, what decided, what you get, and the code.

One story per report: the table shows the plan the user gets (the fix only when it was
adopted), every number says what it is and on which slice it was measured, and the verdict
states the claim rules it was held to.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from advisor.fixes.builtin.repair_head import ID as REPAIR_HEAD
from advisor.model_facts import EPSILON, loss_name
from advisor.outcomes.improvement import Improvement
from advisor.outcomes.scores import (
    MIN_RELATIVE_LOSS_CHANGE,
    SIGNIFICANCE,
    MetricComparison,
    Slice,
)
from advisor.report.snippet import code_snippet
from advisor.task import called_for_loss

if TYPE_CHECKING:
    from advisor.outcomes.patch import PatchResult

# The report shows the patch's first lines; ``--diff`` prints it whole.
_DIFF_LINES = 60

_VERDICT_STYLE = {"improved": "bold green", "worse": "bold red"}
LOSS_MEANING = (
    "loss = the task's loss recomputed from the predictions, without any regularisation "
    "penalty, for every model alike (Keras' logged loss/val_loss may use logits and include "
    "penalties, so it can differ)"
)
CLAIM_RULES = (
    f"claim rules: a fix is adopted only if, on the selection data (the selection slice alone "
    f"when a compared plan watches validation or validates on other rows), its loss is lower "
    f"beyond noise (p < {SIGNIFICANCE}) and by at least {MIN_RELATIVE_LOSS_CHANGE:.0%}; the "
    f"verdict 'improved' needs the same on the holdout, which decides nothing"
)
SMALL_DATA_CLAIM = (
    f"claim rules: a fix is adopted only if, on the validation data, its loss is lower beyond "
    f"noise (p < {SIGNIFICANCE}) over several seeds and by at least "
    f"{MIN_RELATIVE_LOSS_CHANGE:.0%}; without a holdout 'improved' is never claimed"
)

CROSS_VALIDATED_CLAIM = (
    f"claim rules: with few rows and no validation, a fix is adopted only if, cross-validated "
    f"over every row, its loss is lower beyond noise (p < {SIGNIFICANCE}) and by at least "
    f"{MIN_RELATIVE_LOSS_CHANGE:.0%} and no compiled metric objects; with no untouched holdout "
    "'improved' is never claimed"
)


# The slice a report's numbers come from, and what it did.
_SLICE_TITLES = {
    "holdout": ("Holdout", "never trained on, never used for a decision"),
    "validation": ("Validation", "it also decided, too few samples for a holdout: optimistic"),
    "cross-validation": (
        "Cross-validation",
        "fold means over all your rows, which also decided; no untouched holdout: optimistic",
    ),
}


def render_improvement(
    improvement: Improvement, patch: PatchResult | None = None
) -> RenderableType:
    parts: list[RenderableType] = [Text("Fixes", style="bold")]
    parts.append(Text(f"applied: {', '.join(improvement.applied) or 'none (your plan is kept)'}"))
    if improvement.candidates:
        tried = "; ".join(
            f"{' + '.join(c.fixes)} {c.selection_loss:.4g}" for c in improvement.candidates
        )
        searched = improvement.searched_on or (
            Slice.SELECTION if improvement.baseline_plan.data.has_holdout else Slice.VALIDATION
        )
        parts.append(
            Text(
                f"loss on the {searched} (the search ranks by it; seed 0): your plan "
                f"{improvement.baseline_selection_loss:.4g}; {tried}",
                style="dim",
            )
        )
    parts.extend(Text(f"skipped {s.fix}: {s.reason}", style="dim") for s in improvement.skipped)
    rebuild_notes = dict.fromkeys(note for c in improvement.candidates for note in c.notes)
    parts.extend(Text(f"note: {note}", style="dim") for note in rebuild_notes)
    if improvement.search is not None:
        parts.append(Text(improvement.search.sentence(), style="dim"))
    if improvement.contributions:
        parts.append(Text(_contributions(improvement)))
    if improvement.evidence:
        parts.append(Text(improvement.evidence, style="dim"))
    parts.append(_holdout_table(improvement))
    parts.append(Text(LOSS_MEANING, style="dim"))
    scored_with = _labels_loss_note(improvement)
    if scored_with:
        parts.append(Text(scored_with, style="yellow"))
    if improvement.decision is not None:
        claim = {
            "holdout": CLAIM_RULES,
            "validation": SMALL_DATA_CLAIM,
            "cross-validation": CROSS_VALIDATED_CLAIM,
        }[improvement.measured_on]
        parts.append(Text(claim, style="dim"))
    style = _VERDICT_STYLE.get(improvement.result, "yellow")
    parts.append(Text(f"verdict: {improvement.result} - {improvement.reason}", style=style))
    for finding in improvement.unaddressed:
        parts.append(Text(f"not addressed: {finding.sentence()}", style="yellow"))
    if improvement.final_fit is not None:
        parts.append(Text(improvement.final_fit.sentence(improvement.adopted), style="dim"))
    if improvement.adopted == "fixed":
        parts.extend(_how_to_apply(improvement, patch))
    return Group(*parts)


def _labels_loss_note(improvement: Improvement) -> str | None:
    """When the compiled loss is a regression loss on class labels and the head repair was
    tried, every model was scored with the loss the labels call for: say so, and name the
    compiled loss as the fault (the repair's loss is what :func:`scoring_loss` picked)."""
    plan = improvement.baseline_plan
    called_for = called_for_loss(plan)
    tried = any(REPAIR_HEAD in c.fixes for c in improvement.candidates)
    if called_for is None or not tried:
        return None
    clipped = f"[{EPSILON:g}, 1 - {EPSILON:g}]"
    return (
        f"loss = {called_for} on predictions clipped to {clipped}, for your plan and every fix "
        f"alike: the loss your labels call for. Your compiled loss "
        f"{loss_name(plan.compile.loss)} is a fault (ADV302 loss-targets): a regression loss "
        "on class labels does not judge its own repair"
    )


def _contributions(improvement: Improvement) -> str:
    """What each change of the best trial bought, leaving it out, e.g. ``relu-he 0.41 (kept);
    clip-gradients -0.002 (dropped)``."""
    bought = "; ".join(
        f"{c.fix} {c.bought:+.4g} ({'kept' if c.kept else 'dropped'})"
        for c in improvement.contributions
    )
    return (
        f"what each change bought (selection loss without it minus with it, leaving one out): "
        f"{bought}; a change buying less than {MIN_RELATIVE_LOSS_CHANGE:.0%} of the loss is "
        "dropped"
    )


def _how_to_apply(improvement: Improvement, patch: PatchResult | None) -> list[RenderableType]:
    """The adopted fix as a diff of the user's script, short; without a script (``advise()``
    from Python) the code to add."""
    caution: list[RenderableType] = (
        [Text(f"caution: {improvement.caution}", style="bold red")] if improvement.caution else []
    )
    if patch is None:
        snippet = code_snippet(improvement.chosen_plan, improvement.chosen_model)
        return [
            Text("To apply the adopted fix in your code:", style="bold"),
            *caution,
            Syntax(snippet, "python", theme="ansi_dark", word_wrap=True),
        ]
    parts: list[RenderableType] = []
    if patch.diff:
        lines = patch.diff.splitlines()
        shown = "\n".join(lines[:_DIFF_LINES])
        parts.append(
            Text(
                "The adopted fix as a patch to your script "
                "(advisor diagnose SCRIPT --diff > fix.patch && git apply fix.patch):",
                style="bold",
            )
        )
        parts.extend(caution)
        parts.append(Syntax(shown, "diff", theme="ansi_dark", word_wrap=True))
        if len(lines) > _DIFF_LINES:
            parts.append(
                Text(f"... {len(lines) - _DIFF_LINES} more lines: --diff prints all", style="dim")
            )
    parts.extend(Text(f"not in the patch: {item}", style="yellow") for item in patch.not_applied)
    return parts


def _holdout_table(improvement: Improvement) -> RenderableType:
    """Holdout scores of what the user gets: the adopted fix beside their plan, or their
    plan alone when it is kept (a rejected candidate is not what anyone gets). Validation
    scores, said to be optimistic, when the data was too small for a holdout."""
    comparison = improvement.holdout
    epochs = improvement.chosen_plan.epochs
    where = _SLICE_TITLES[improvement.measured_on]
    if comparison is None:
        title = f"{where[0]}: what you get ({epochs}-epoch fit"
        table = _table(title, 1, ("metric", "your plan (kept)"), where)
        for name, value in improvement.kept_holdout.items():
            table.add_row(name, f"{value:.4g}")
        return table
    repeats = comparison.repeats
    table = _table(
        f"{where[0]}: what you get ({epochs}-epoch fits",
        repeats,
        ("metric", "your plan", "with the fix", "delta"),
        where,
    )
    for m in comparison.metrics:
        table.add_row(m.name, *_row(m, spread=repeats > 1))
    return table


def _table(title: str, repeats: int, columns: Sequence[str], where: tuple[str, str]) -> Table:
    seeds = f", {repeats} seeds" if repeats > 1 else ""
    table = Table(title=f"{title}{seeds}; {where[1]})", title_justify="left")
    for column in columns:
        table.add_column(column, justify="left" if column == "metric" else "right")
    return table


def _row(m: MetricComparison, *, spread: bool) -> tuple[str, str, Text]:
    good = m.better and math.isfinite(m.delta)
    return (
        _number(m.baseline, m.baseline_spread if spread else None),
        _number(m.fixed, m.fixed_spread if spread else None),
        Text(
            f"{m.delta:+.4g}" if math.isfinite(m.delta) else "n/a",
            style="green" if good or not math.isfinite(m.baseline) else "red",
        ),
    )


def _number(value: float, spread: float | None) -> str:
    return f"{value:.4g}" if spread is None else f"{value:.4g} ± {spread:.2g}"
