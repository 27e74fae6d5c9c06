"""What the fix step measured and decided, as data: the report renders it, JSON exports it.

Nothing here decides (that is :mod:`advisor.fixes.selection`) or draws (that is
:mod:`advisor.report.fixes`). The plan a user gets (``chosen_plan``, ``--export``) is the fixed
one only when the selection data showed a gain beyond noise *and* above the minimum that
counts; the holdout was used for nothing but the numbers reported on it. The model handed out
is that plan retrained with the user's epochs on all the data the script trained on, when
``final_model`` is set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from advisor.errors import AdvisorError
from advisor.fix import Skipped
from advisor.outcomes.scores import MIN_RELATIVE_LOSS_CHANGE, SIGNIFICANCE, Comparison, Slice
from advisor.plan import TrainingPlan
from advisor.user_files import claim_new_file, write_new_file

if TYPE_CHECKING:  # the search package imports Optuna, which the outcomes never need
    from advisor.search.smallest import Contribution

Adopted = Literal["fixed", "baseline"]
# What the report claims: "improved" only for an adopted fix the holdout confirms.
Result = Literal["no-fix", "not-adopted", "improved", "unconfirmed", "worse"]


@dataclass(frozen=True)
class Candidate:
    """One combination of fixes that was trained, and its selection-slice loss (no penalty)."""

    fixes: tuple[str, ...]
    selection_loss: float
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unaddressed:
    """A finding that no adopted fix addresses, and what most likely causes it. The adopted
    fix may be another finding's, so the sentence names this finding's own fixes and which of
    them were tried: "not addressed by the fixes tried (standardize)" would read as if the
    adopted fix had been tried against it."""

    code: str
    rule: str
    likely_cause: str
    fixes: tuple[str, ...] = ()
    # Those of ``fixes`` that some trial trained, whole or stopped early.
    tried: tuple[str, ...] = ()

    def sentence(self) -> str:
        own_tried = [fix for fix in self.fixes if fix in self.tried]
        untried = [fix for fix in self.fixes if fix not in self.tried]
        if not self.fixes:
            what = "no fix applies to it"
        elif not own_tried:
            what = f"its fixes ({', '.join(self.fixes)}) were not tried"
        else:
            what = f"its fixes tried ({', '.join(own_tried)}) were not adopted"
            if untried:
                what += f"; not tried: {', '.join(untried)}"
        return f"{self.code} {self.rule}: {what}; likely cause: {self.likely_cause}"


@dataclass(frozen=True)
class FinalFit:
    """How the model handed out was trained, beside the shorter fits that were measured."""

    epochs: int
    measured_epochs: int
    samples: int
    validation: str
    # False when the measured fit already was the export's (same plan, seed, rows, epochs):
    # that model is handed out, not trained a second time.
    retrained: bool = True
    # The export's first epoch with a NaN/inf training loss: the measured seeds trained the
    # plan, this seed did not, and the user must not take that model for the measured one.
    diverged_at: int | None = None

    def sentence(self, adopted: Adopted) -> str:
        if self.diverged_at is None:
            return self._how_trained(adopted)
        return (
            f"{self._how_trained(adopted)}. Its training diverged (loss NaN/inf at epoch "
            f"{self.diverged_at}): the plan trained on the measured seeds but not on this one, "
            "so it is not stable; do not use this model"
        )

    def _how_trained(self, adopted: Adopted) -> str:
        plan = "the fixed plan" if adopted == "fixed" else "your plan (unchanged)"
        if not self.retrained:
            return (
                f"the model handed out is {plan} as measured, not retrained: its fit already "
                f"ran on all {self.samples} training samples the script gave for "
                f"{self.epochs} epochs with the same seed; {self.validation}"
            )
        budget = (
            f"for your {self.epochs} epochs (the measured fits ran {self.measured_epochs})"
            if self.epochs != self.measured_epochs
            else f"for {self.epochs} epochs, as measured"
        )
        return (
            f"the model handed out is {plan} retrained {budget} on all {self.samples} "
            f"training samples the script gave; {self.validation}"
        )


@dataclass(frozen=True)
class SearchCost:
    """What the search over fixes spent: trials trained (the reused probe and repeats of a
    measured trial trained nothing), those stopped early, epochs of the budget, seconds."""

    trials: int
    stopped_early: int
    epochs: int
    budget_epochs: int
    seconds: float
    # Leaving each change of a stacked best trial out: whole runs beyond the budget.
    leave_one_out_trials: int = 0
    leave_one_out_epochs: int = 0

    def sentence(self) -> str:
        spent = (
            f"the search trained {self.trials} trials ({self.stopped_early} stopped early), "
            f"{self.epochs} of a budget of {self.budget_epochs} epochs, in {self.seconds:.1f} s"
        )
        if not self.leave_one_out_trials:
            return spent
        return (
            f"{spent}; leaving changes out trained {self.leave_one_out_trials} more runs "
            f"({self.leave_one_out_epochs} epochs)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "trials": self.trials,
            "stopped_early": self.stopped_early,
            "epochs": self.epochs,
            "budget_epochs": self.budget_epochs,
            "seconds": self.seconds,
            "leave_one_out_trials": self.leave_one_out_trials,
            "leave_one_out_epochs": self.leave_one_out_epochs,
        }


@dataclass(frozen=True)
class Improvement:
    baseline_plan: TrainingPlan
    chosen_plan: TrainingPlan
    chosen_model: Any
    adopted: Adopted
    skipped: tuple[Skipped, ...]
    candidates: tuple[Candidate, ...]
    baseline_selection_loss: float
    # Best candidate against the baseline on the selection data (the selection slice alone
    # when one of them watches validation): what decided; ``decision.where`` says which.
    decision: Comparison | None
    # Baseline against the adopted fix on the holdout (only when a fix was adopted); on data too
    # small for a holdout, the validation comparison that decided (``where == "validation"``).
    holdout: Comparison | None
    # The holdout (or, without one, validation) scores of the plan kept as the baseline.
    kept_holdout: Mapping[str, float]
    result: Result
    reason: str
    unaddressed: tuple[Unaddressed, ...] = ()
    final_model: Any = None
    final_fit: FinalFit | None = None
    search: SearchCost | None = None
    # How the decision's evidence was gathered when not by one look at the seeds asked for:
    # a sequential test that added seeds, or cross-validation over tiny data.
    evidence: str = ""
    # When the best trial made several changes: what each bought, leaving it out on the
    # selection data (the dropped ones bought less than the minimum that counts).
    contributions: tuple[Contribution, ...] = ()
    # The slice the search scored every trial on (the candidates' and baseline's losses above).
    searched_on: Slice | None = None

    @property
    def model(self) -> Any:
        """The model to use: the refit on all training data when there is one."""
        return self.chosen_model if self.final_model is None else self.final_model

    @property
    def measured_on(self) -> str:
        """The slice the reported numbers come from: the holdout, or what decided when the
        data is too small for one (validation, or cross-validation over every row)."""
        if self.decision is not None and self.decision.where == Slice.CROSS_VALIDATION:
            return Slice.CROSS_VALIDATION.value
        return self.baseline_plan.data.measured_on

    @property
    def applied(self) -> tuple[str, ...]:
        return self.chosen_plan.applied_fixes

    @property
    def caution(self) -> str | None:
        """What to say beside the fix wherever it is handed out (report, ``--diff``,
        ``--export``) when the holdout found it worse than the user's plan. The holdout decides
        nothing, so the fix stays the one the selection data chose; the user decides."""
        if self.adopted != "fixed" or self.result != "worse":
            return None
        return (
            f"the {Slice.HOLDOUT.value}, which decided nothing, says this fix is worse than your "
            "plan: review it before using it"
        )

    def export(self, path: Path) -> None:
        """Save the adopted model; it takes the user's raw inputs and is compiled with their
        loss and metrics, so ``keras.saving.load_model(path).evaluate(x, y)`` works.

        Never over an existing file, and never a half-written one (see
        :mod:`advisor.user_files`)."""
        write_new_file(path, self.model.save)

    def to_dict(self) -> dict[str, Any]:
        holdout = self.holdout
        if holdout is not None:
            baseline = {
                m.name: {"mean": m.baseline, "spread": m.baseline_spread} for m in holdout.metrics
            }
            fixed = {m.name: {"mean": m.fixed, "spread": m.fixed_spread} for m in holdout.metrics}
        else:
            baseline = {name: {"mean": value} for name, value in self.kept_holdout.items()}
            fixed = {}
        decision = self.decision
        return {
            "fixes_applied": list(self.applied),
            "fixes_skipped": [{"fix": s.fix, "reason": s.reason} for s in self.skipped],
            "candidates": [
                {"fixes": list(c.fixes), "selection_loss": c.selection_loss, "notes": list(c.notes)}
                for c in self.candidates
            ],
            "baseline_selection_loss": self.baseline_selection_loss,
            "searched_on": None if self.searched_on is None else self.searched_on.value,
            "baseline": baseline,
            "fixed": fixed,
            "unaddressed": [
                {
                    "code": u.code,
                    "rule": u.rule,
                    "likely_cause": u.likely_cause,
                    "fixes": list(u.fixes),
                    "tried": list(u.tried),
                }
                for u in self.unaddressed
            ],
            "claim_rules": {
                "significance": SIGNIFICANCE,
                "min_relative_loss_change": MIN_RELATIVE_LOSS_CHANGE,
            },
            "decision": None
            if decision is None
            else {
                "measured_on": decision.where.value,
                "effect": decision.effect,
                "statement": decision.statement,
                "p_value": decision.p_value,
                "test": decision.test,
                "relative_loss_change": decision.loss.relative,
            },
            "verdict": {
                "result": self.result,
                "adopted": self.adopted,
                "statement": self.reason,
                "p_value": holdout.p_value if holdout else None,
                "test": holdout.test if holdout else None,
                "repeats": decision.repeats if decision else 0,
                "measured_on": self.measured_on,
            },
            "final_fit": None
            if self.final_fit is None
            else {
                "epochs": self.final_fit.epochs,
                "measured_epochs": self.final_fit.measured_epochs,
                "samples": self.final_fit.samples,
                "diverged_at_epoch": self.final_fit.diverged_at,
            },
            "search": None if self.search is None else self.search.to_dict(),
            "evidence": self.evidence or None,
            "contributions": [
                {"fix": c.fix, "loss_without": c.loss_without, "bought": c.bought,
                 "kept": c.kept}
                for c in self.contributions
            ],
        }


def check_export_path(path: Path) -> Path:
    """``path`` made absolute, or refused before any training: a wrong suffix, an existing
    file (never overwritten), a folder that is missing or cannot be written."""
    if path.suffix != ".keras":
        raise AdvisorError(f"{path}: --export needs a path ending in .keras")
    return claim_new_file(path)
