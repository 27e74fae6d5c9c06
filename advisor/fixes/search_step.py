"""The fix step's search: the findings open a space, Optuna searches it, trials train for real.

This module is the glue between :mod:`advisor.search` (which never trains) and the one training
entry point (:mod:`advisor.training.fit`): a trial applies its sampled changes to the user's
plan, trains it with the same seed as the probe, reports each epoch's penalty-free validation
loss (the pruner and the epoch budget may stop it there) and is scored on the data the decision
uses. The probe is the baseline trial, reused, not retrained. The best trial then goes through
the same honest decision as any candidate (:mod:`advisor.fixes.selection`), so the search can
change what is tried, never what may be claimed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from advisor.findings import Finding
from advisor.fix import FixKind, Skipped
from advisor.fix_registry import load_fixes
from advisor.fixes.apply import apply_fixes
from advisor.fixes.builtin.lower_lr import ID as LOWER_LR  # its factor scales the user's rate
from advisor.fixes.candidates import scoring_loss
from advisor.plan import TrainingPlan
from advisor.search import (
    Budget,
    Changes,
    ReportEpoch,
    SearchResult,
    TrialOutcome,
    apply_changes,
    open_space,
    search,
)
from advisor.training.fit import FitOutcome, FitRequest, FitRunner, suggested_lr_factor

# ``score(model, plan, loss)``: the penalty-free loss on the data the decision uses.
Score = Callable[[Any, TrainingPlan, Any], float]


@dataclass(frozen=True)
class Trained:
    """A finished trial the decision may pick: its plan, its fit and its selection loss."""

    plan: TrainingPlan
    outcome: FitOutcome
    loss: float


@dataclass(frozen=True)
class SearchStep:
    """What the search hands the decision: the finished fixed trials (best first), the fixes
    that skipped, the one loss every model is scored with, and the search's own record."""

    trained: tuple[Trained, ...]
    skipped: tuple[Skipped, ...]
    loss: Any
    baseline_loss: float
    result: SearchResult | None


def search_fixes(
    plan: TrainingPlan,
    findings: Sequence[Finding],
    probe: FitOutcome,
    *,
    seed: int,
    budget: float,
    run_fit: FitRunner,
    score: Score,
    explained: Sequence[Finding] = (),
) -> SearchStep:
    """Search the space ``findings`` open (``explained``: those precedence dropped, whose
    fixes join as optional extras) within ``budget`` times the probe's epochs."""
    fixes = load_fixes()
    skipped: dict[str, Skipped] = {}
    usable = _applicable(plan, [*findings, *explained], skipped)
    # A fix that trains longer costs several runs of the budget: it is tried after the others.
    costly = set(fixes.of_kind(FixKind.BUDGET))
    kept = _cheap_first(findings, usable, costly)
    extra = _cheap_first(explained, usable, costly)
    loss = scoring_loss((apply_fixes(plan, (f,))[0] for f in usable), plan.compile.loss)
    baseline_loss = _finite_or_inf(score(probe.model, plan, loss))
    if not usable:
        return SearchStep((), tuple(skipped.values()), loss, baseline_loss, None)
    space = open_space(kept, fixes.find, explained=extra, centres=_centres(plan, kept, seed))
    trained: dict[tuple[str, ...], Trained] = {}
    # The catalogue's trials (each root-cause fix alone) run whole: pruning them on their first
    # epochs would let the search do worse than the catalogue. The search gives them room for a
    # whole run of the user's epochs, so only a longer one (train-longer) may be stopped.
    unpruned = [len(space.start_params())]

    def run_trial(changes: Changes, report_epoch: ReportEpoch) -> TrialOutcome:
        trial_plan, skipped_here = apply_changes(plan, changes, fixes.find)
        skipped.update((s.fix, s) for s in skipped_here if not s.quiet)
        label = "trial: " + (", ".join(trial_plan.applied_fixes) or "your plan")
        report = report_epoch
        if unpruned[0] > 0 and trial_plan.fit_epochs <= plan.fit_epochs:
            report = lambda epoch, loss: report_epoch(epoch, loss) and False  # noqa: E731
        unpruned[0] -= 1
        outcome = run_fit(FitRequest(trial_plan, seed, label, report_epoch=report))
        ran = outcome.history.n_epochs
        trial_loss = _finite_or_inf(score(outcome.model, trial_plan, loss))
        pruned = outcome.stopped and ran < trial_plan.fit_epochs
        # The best trial of each fix set stands for it (trials differ in knob values only).
        best = trained.get(trial_plan.applied_fixes)
        if not pruned and trial_plan.applied_fixes and (best is None or trial_loss < best.loss):
            trained[trial_plan.applied_fixes] = Trained(trial_plan, outcome, trial_loss)
        return TrialOutcome(trial_loss, ran, pruned=pruned)

    user_run = Budget(plan.fit_epochs, budget)
    result = search(
        space,
        user_run,
        run_trial,
        baseline=TrialOutcome(baseline_loss, probe.history.n_epochs, curve=_curve(probe)),
        seed=seed,
        # Every trained trial costs at least one epoch unless all its fixes skipped: this
        # bounds a space whose fixes keep skipping.
        max_trials=user_run.epochs,
    )
    best_first = sorted(trained.values(), key=lambda t: t.loss)
    return SearchStep(tuple(best_first), tuple(skipped.values()), loss, baseline_loss, result)


def _centres(plan: TrainingPlan, findings: Sequence[Finding], seed: int) -> dict[str, float]:
    """The learning-rate range test's rate (as ``lower-lr``'s factor) when a finding calls for
    the learning rate: the search is then centred on a measured rate instead of the
    catalogue's guess, or, when a finding says which way, starts there if the measured rate
    lies that way (Adam at 100 wants about x1e-5, not the catalogue's x0.1)."""
    if not any(LOWER_LR in f.fixes for f in findings):
        return {}
    factor = suggested_lr_factor(plan, seed=seed)
    return {} if factor is None else {f"{LOWER_LR}.factor": factor}


def _applicable(
    plan: TrainingPlan, findings: Sequence[Finding], skipped: dict[str, Skipped]
) -> tuple[str, ...]:
    """The registered fixes the findings call for that apply to ``plan`` at their defaults
    (a fix that cannot apply opens no part of the space)."""
    known = set(load_fixes().ids)
    wanted = dict.fromkeys(fix for f in findings for fix in f.fixes if fix in known)
    usable = []
    for fix in wanted:
        _, skipped_here = apply_fixes(plan, (fix,))
        skipped.update((s.fix, s) for s in skipped_here if not s.quiet)
        if not skipped_here:
            usable.append(fix)
    return tuple(usable)


def _cheap_first(
    findings: Sequence[Finding], usable: Sequence[str], costly: set[str]
) -> list[Finding]:
    """The findings calling only for the ``usable`` fixes, the ``costly`` ones split off into
    copies at the end: the first trials are the root-cause fixes alone in this order, and the
    budget may end before all of them ran."""
    def only(finding: Finding, keep: Callable[[str], bool]) -> Finding:
        return replace(finding, fixes=tuple(f for f in finding.fixes if f in usable and keep(f)))

    cheap = [only(f, lambda fix: fix not in costly) for f in findings]
    dear = [only(f, lambda fix: fix in costly) for f in findings]
    return [f for f in [*cheap, *dear] if f.fixes]


def _curve(probe: FitOutcome) -> tuple[float, ...]:
    series = probe.history.get("val_loss")
    return () if series is None else series.values


def _finite_or_inf(value: float) -> float:
    """A NaN loss is the worst loss, never a better one."""
    return value if math.isfinite(value) else math.inf
