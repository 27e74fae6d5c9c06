"""Choose fixes for the findings, train the candidates, keep the best, measure on the holdout.

Selection between candidates uses the validation data only; the improvement reported is
measured on the holdout slice that neither training nor selection saw, so choosing the best of
several candidates does not inflate it. The baseline of seed ``s`` is the user's plan trained
with seed ``s`` (the probe is exactly that run for the first seed, so it is reused).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from advisor.arrays import concat_batches
from advisor.findings import Finding
from advisor.fixes.catalogue import FIXES, Skipped, apply_fixes
from advisor.fixes.comparison import Scores, compare
from advisor.fixes.outcome import Candidate, Improvement
from advisor.plan import TrainingPlan
from advisor.training.fit import FitOutcome, FitRunner, evaluate

# Dropout and L2 both regularise; which one suits a model is an empirical question, so when
# both are suggested each is tried (with the other fixes) and validation decides.
ALTERNATIVES = ("dropout", "l2")
DATA_FIXES = ("impute", "standardize", "scale-target")


def wanted_fixes(findings: Sequence[Finding]) -> tuple[str, ...]:
    """The fix ids the findings suggest, most severe finding first, without repeats."""
    ordered: dict[str, None] = {}
    for finding in findings:
        ordered.update((fix, None) for fix in finding.fixes if fix in FIXES)
    return tuple(ordered)


def candidate_fix_sets(wanted: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The combinations worth training: all suggested fixes together, each regulariser alone
    when both are suggested, and the data fixes alone when training fixes come with them (a
    stall caused by NaN inputs is cured by imputing, and a lower learning rate only slows it)."""
    if all(fix in wanted for fix in ALTERNATIVES):
        sets = [tuple(f for f in wanted if f != other) for other in reversed(ALTERNATIVES)]
    else:
        sets = [wanted]
    data_only = tuple(f for f in wanted if f in DATA_FIXES)
    if data_only and data_only != wanted:
        sets.append(data_only)
    return sets


def improve(
    plan: TrainingPlan,
    findings: Sequence[Finding],
    probe: FitOutcome,
    *,
    seed: int,
    repeats: int,
    run_fit: FitRunner,
) -> Improvement:
    wanted = wanted_fixes(findings)
    skipped: dict[str, Skipped] = {}
    candidates: list[tuple[TrainingPlan, FitOutcome]] = []
    for fix_set in candidate_fix_sets(wanted):
        fixed_plan, skipped_here = apply_fixes(plan, fix_set)
        skipped.update((s.fix, s) for s in skipped_here)
        # Fixes are deterministic, so equal fix lists mean equal plans (no array comparison).
        if fixed_plan.applied_fixes and all(
            fixed_plan.applied_fixes != c[0].applied_fixes for c in candidates
        ):
            label = "fix: " + ", ".join(fixed_plan.applied_fixes)
            candidates.append((fixed_plan, run_fit(fixed_plan, seed, label)))
    baseline_val = _finite_or_inf(_validation_loss(probe.model, plan))
    tried = [
        Candidate(p.applied_fixes, _finite_or_inf(_validation_loss(o.model, p)), o.notes)
        for p, o in candidates
    ]
    if not candidates:
        return Improvement.without_fix(plan, probe.model, tuple(skipped.values()), baseline_val)
    best_index = min(range(len(tried)), key=lambda i: tried[i].validation_loss)
    best_plan, best_outcome = candidates[best_index]
    baseline_runs: list[Any] = [probe.model]
    fixed_runs: list[Any] = [best_outcome.model]
    for extra_seed in range(seed + 1, seed + max(repeats, plan.data.min_repeats)):
        baseline_runs.append(run_fit(plan, extra_seed, f"baseline, seed {extra_seed}").model)
        fixed_runs.append(run_fit(best_plan, extra_seed, f"fix, seed {extra_seed}").model)
    comparison = compare(
        _holdout(baseline_runs, plan),
        _holdout(fixed_runs, best_plan),
        measured_on=plan.data.measured_on,
    )
    return Improvement.measured(
        baseline_plan=plan,
        baseline_model=probe.model,
        fixed_plan=best_plan,
        fixed_model=best_outcome.model,
        skipped=tuple(skipped.values()),
        candidates=tuple(tried),
        baseline_validation_loss=baseline_val,
        comparison=comparison,
    )


def refit_on_all_training_data(
    improvement: Improvement, *, seed: int, run_fit: FitRunner
) -> Improvement:
    """The chosen plan trained on training + holdout data: as much data as the user's own run
    had, so the exported model does not pay for the advisor's measurement slice."""
    plan = improvement.chosen_plan
    data = replace(
        plan.data,
        x_train=concat_batches([plan.data.x_train, plan.data.x_holdout]),
        y_train=concat_batches([plan.data.y_train, plan.data.y_holdout]),
        w_train=None
        if plan.data.w_train is None
        else concat_batches([plan.data.w_train, plan.data.w_holdout]),
    )
    model = run_fit(replace(plan, data=data), seed, "final fit on all training data").model
    return replace(improvement, final_model=model)


def _holdout(models: Sequence[Any], plan: TrainingPlan) -> list[Scores]:
    x, y, weights = plan.data.measurement()
    return [evaluate(model, plan, x, y, sample_weight=weights) for model in models]


def _validation_loss(model: Any, plan: TrainingPlan) -> float:
    data = plan.data
    return evaluate(model, plan, data.x_val, data.y_val, sample_weight=data.w_val).loss


def _finite_or_inf(value: float) -> float:
    """A NaN loss is the worst loss, never a better one."""
    return value if math.isfinite(value) else math.inf
