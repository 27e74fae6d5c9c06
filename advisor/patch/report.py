"""The patch of an advisor run: the adopted plan's edits applied to the script it came from,
and ``advisor diagnose SCRIPT --diff``'s output.

Only an adopted fix gets a patch (a plan that was not adopted is not what the user should
run); the numbers the patch writes that the edits do not say (the user's learning rate, their
epochs) come from the captured baseline plan.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from rich.console import Console

from advisor.errors import error_summary
from advisor.outcomes.patch import PatchResult
from advisor.patch.diff import script_diff
from advisor.patch.facts import InputKind, facts_from_optimizer
from advisor.plan import TrainingPlan
from advisor.plan_edits import PlanEdit, SetEpochs

if TYPE_CHECKING:
    from advisor.outcomes.improvement import Improvement
    from advisor.outcomes.report import AdviceReport


def script_patch(
    script: Path,
    improvement: Improvement | None,
    fit_line: int | None,
    *,
    inputs: InputKind = "arrays",
) -> PatchResult | None:
    """The diff of ``script`` for the adopted plan; None when no fix was adopted.
    ``inputs``: what kind of data the fit trained on."""
    if improvement is None or improvement.adopted != "fixed":
        return None
    baseline = improvement.baseline_plan
    try:
        facts = facts_from_optimizer(
            baseline.compile.optimizer,
            user_epochs=baseline.user_epochs,
            fit_line=fit_line,
            inputs=inputs,
        )
        edits = tuple(_in_user_epochs(edit, baseline) for edit in improvement.chosen_plan.edits)
        return script_diff(script, edits, facts)
    except Exception as error:  # a bug of the patch must not cost the user the report
        return PatchResult("", (f"the patch could not be written ({error_summary(error)})",))


def _in_user_epochs(edit: PlanEdit, baseline: TrainingPlan) -> PlanEdit:
    """A budget the fix measured as a multiple of the probe's epochs, as the same multiple of
    the script's own (the probe may have run fewer epochs than the script asks for)."""
    if isinstance(edit, SetEpochs) and baseline.user_epochs and baseline.epochs:
        return replace(edit, epochs=round(edit.epochs * baseline.user_epochs / baseline.epochs))
    return edit


def print_diff(report: AdviceReport, out: TextIO, err: Console) -> int:
    """``--diff``: the patch alone on stdout (exit 0), or nothing and why on stderr (exit 1)."""
    patch = report.patch
    if patch is None or not patch.diff:
        _say(err, f"advisor: no diff for {report.source}: {_why_none(report)}")
        return 1
    out.write(patch.diff)
    caution = report.improvement.caution if report.improvement is not None else None
    if caution:
        _say(err, f"advisor: caution: {caution}")
    for item in patch.not_applied:
        _say(err, f"advisor: not in the patch: {item}")
    return 0


def _say(err: Console, line: str) -> None:
    """One unwrapped, unstyled line on stderr, as ``grep`` and CI logs expect."""
    err.print(line, markup=False, highlight=False, soft_wrap=True)


def _why_none(report: AdviceReport) -> str:
    improvement, patch = report.improvement, report.patch
    if improvement is None:
        return "no fix was tried, so there is nothing to patch"
    if improvement.adopted != "fixed":
        return (
            f"no fix was adopted ({improvement.result}: {improvement.reason}); "
            "your script is kept as it is"
        )
    return "; ".join(patch.not_applied) if patch else "the patch is empty"
