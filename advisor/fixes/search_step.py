"""The fix step's search: the findings open a space, Optuna searches it, trials train for real.

This module is the glue between :mod:`advisor.search` (which never trains) and the one training
entry point (:mod:`advisor.training.fit`): a trial applies its sampled changes to the user's
plan, trains it with the same seed as the probe, reports each epoch's penalty-free validation
loss (the pruner and the epoch budget may stop it there) and is scored on the data the decision
uses. The probe is the baseline trial, reused, not retrained. When the best trial stacks
several changes, each is left out in turn on the selection data (:func:`smallest_fix`) and a
change that buys less than the minimum that counts is dropped. The smallest fix that holds then
goes through the same honest decision as any candidate (:mod:`advisor.fixes.selection`), so the
search can change what is tried, never what may be claimed.

With a :class:`~advisor.search.worker.SharedSearch`, the study lives in a shared storage and
workers (:mod:`advisor.commands.worker`) train some of its trials with the same
:class:`TrialRunner`; their losses and notes come back through the storage, and the one model
the decision needs, the best trial's, is retrained here (same plan, same seed) when a worker
trained it.
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
from advisor.fixes.deciding import Score, SliceScores, search_slice
from advisor.outcomes.scores import MIN_RELATIVE_LOSS_CHANGE, Slice
from advisor.plan import TrainingPlan
from advisor.search import (
    Budget,
    Changes,
    ReportEpoch,
    SearchResult,
    SmallestFix,
    TrialOutcome,
    apply_changes,
    open_space,
    search,
    smallest_fix,
)
from advisor.search.study import whole_starts
from advisor.search.trials import ChangesKey, changes_key
from advisor.search.worker import SharedSearch
from advisor.training.fit import FitOutcome, FitRequest, FitRunner, suggested_lr_factor


@dataclass(frozen=True)
class Trained:
    """A finished trial the decision may pick: its plan, its selection loss, what its fit
    noted and its model (None for a worker's trial: only the best one's is retrained)."""

    plan: TrainingPlan
    loss: float
    notes: tuple[str, ...]
    model: Any = None


class TrialRunner:
    """Trains one trial: ``plan`` with the trial's changes, the probe's seed, each epoch's
    selection loss reported; the same in the diagnosing process and in every worker, so a
    trial trains alike wherever it runs. Keeps the best trial of each fix set it trained.

    The catalogue's trials (each root-cause fix alone, the changes in ``whole``) run whole
    when the budget holds them all and one trial more (:func:`whole_starts`): pruning them
    on their first epochs would let the search do worse than the catalogue. The search gives
    them room for a whole run of the user's epochs, so only a longer one (train-longer) may
    be stopped. With a smaller budget ``whole`` is empty and the pruner judges them.
    """

    def __init__(
        self,
        plan: TrainingPlan,
        *,
        seed: int,
        run_fit: FitRunner,
        score: Score,
        loss: Any,
        whole: Sequence[Changes] = (),
    ) -> None:
        self.plan, self.seed, self.run_fit, self.score, self.loss = plan, seed, run_fit, score, loss
        self.whole: set[ChangesKey] = {changes_key(changes) for changes in whole}
        self.trained: dict[tuple[str, ...], Trained] = {}
        self.skipped: dict[str, Skipped] = {}

    def __call__(self, changes: Changes, report_epoch: ReportEpoch) -> TrialOutcome:
        trial_plan, skipped_here = apply_changes(self.plan, changes, load_fixes().find)
        self.skipped.update((s.fix, s) for s in skipped_here if not s.quiet)
        label = "trial: " + (", ".join(trial_plan.applied_fixes) or "your plan")
        report = report_epoch
        if changes_key(changes) in self.whole and trial_plan.fit_epochs <= self.plan.fit_epochs:
            report = lambda epoch, loss: report_epoch(epoch, loss) and False  # noqa: E731
        outcome = self.run_fit(FitRequest(trial_plan, self.seed, label, report_epoch=report))
        ran = outcome.history.n_epochs
        trial_loss = _finite_or_inf(self.score(outcome.model, trial_plan, self.loss))
        pruned = outcome.stopped and ran < trial_plan.fit_epochs
        # The best trial of each fix set stands for it (trials differ in knob values only).
        best = self.trained.get(trial_plan.applied_fixes)
        if not pruned and trial_plan.applied_fixes and (best is None or trial_loss < best.loss):
            self.trained[trial_plan.applied_fixes] = Trained(
                trial_plan, trial_loss, outcome.notes, outcome.model
            )
        return TrialOutcome(trial_loss, ran, pruned=pruned, notes=outcome.notes)

    def locate_learning_rate(self, changes: Changes) -> float | None:
        """The range test's rate for the plan with ``changes`` (the best start's own, repaired
        model), as ``lower-lr``'s factor; None when its sweep is inconclusive too. Ten sigmoid
        layers learn at no rate, so the user's model cannot place the retry; with ReLU+He the
        same sweep finds where it learns."""
        trial_plan, _ = apply_changes(self.plan, changes, load_fixes().find)
        return suggested_lr_factor(trial_plan, seed=self.seed)


def search_loss(plan: TrainingPlan, usable: Sequence[str]) -> Any:
    """The one loss the search scores every trial with (see :func:`scoring_loss`)."""
    return scoring_loss((apply_fixes(plan, (f,))[0] for f in usable), plan.compile.loss)


@dataclass(frozen=True)
class SearchStep:
    """What the search hands the decision: the finished fixed trials (the smallest fix that
    holds first, then best first), the fixes that skipped, the one loss every model is scored
    with, the slice every trial was scored on, the search's own record and, when the best
    trial made several changes, what each of them bought."""

    trained: tuple[Trained, ...]
    skipped: tuple[Skipped, ...]
    loss: Any
    baseline_loss: float
    searched_on: Slice
    result: SearchResult | None
    smallest: SmallestFix | None = None


def search_fixes(
    plan: TrainingPlan,
    findings: Sequence[Finding],
    probe: FitOutcome,
    *,
    seed: int,
    budget: float,
    run_fit: FitRunner,
    scores: SliceScores,
    explained: Sequence[Finding] = (),
    shared: SharedSearch | None = None,
) -> SearchStep:
    """Search the space ``findings`` open (``explained``: those precedence dropped, whose
    fixes join as optional extras) within ``budget`` times the probe's epochs, every trial
    scored (through ``scores``) on :func:`~advisor.fixes.deciding.search_slice`; in
    ``shared``'s storage, when given, for workers to join."""
    fixes = load_fixes()
    skipped: dict[str, Skipped] = {}
    usable = _applicable(plan, [*findings, *explained], skipped)
    # A fix that trains longer costs several runs of the budget: it is tried after the others.
    costly = set(fixes.of_kind(FixKind.BUDGET))
    # A symptom another finding explains (underfitting behind a broken head) opens optional
    # extras: its fixes join the root cause's only where the leave-one-out shows they add.
    causes = [f for f in findings if f.explained_by is None]
    symptoms = [*explained, *(f for f in findings if f.explained_by is not None)]
    kept = _cheap_first(causes, usable, costly)
    extra = _cheap_first(symptoms, usable, costly)
    if not kept:  # no cause has a usable fix: the symptoms' fixes are all there is to try
        kept, extra = extra, []
    loss = search_loss(plan, usable)
    searched_on = search_slice(plan, usable)
    score = scores.loss_on(searched_on)
    baseline_loss = _finite_or_inf(score(probe.model, plan, loss))
    if not usable:
        return SearchStep((), tuple(skipped.values()), loss, baseline_loss, searched_on, None)
    # The learning rate joins every search where it applies: the best start is retried with
    # it (a repaired model rarely wants the user's own rate).
    lr_applies = LOWER_LR in usable or bool(_applicable(plan, (), {}, also=(LOWER_LR,)))
    retry = LOWER_LR if lr_applies else None
    space = open_space(kept, fixes.find, explained=extra, retry_with=retry,
                       centres=_centres(plan, [*kept, *extra], seed, always=retry is not None))
    user_run = Budget(plan.fit_epochs, budget)
    runner = TrialRunner(
        plan, seed=seed, run_fit=run_fit, score=score, loss=loss,
        whole=whole_starts(space, user_run),
    )
    if shared is not None:
        shared.opened()
    result = search(
        space,
        user_run,
        runner,
        baseline=TrialOutcome(baseline_loss, probe.history.n_epochs, curve=_curve(probe)),
        seed=seed,
        # Every trained trial costs at least one epoch unless all its fixes skipped: this
        # bounds a space whose fixes keep skipping.
        max_trials=user_run.epochs,
        locate=runner.locate_learning_rate,
        **({} if shared is None else shared.search_options(plan, seed, usable)),
    )
    skipped.update(runner.skipped)
    trained = runner.trained if shared is None else _with_workers(runner, result)
    best_first = sorted(trained.values(), key=lambda t: t.loss)
    smallest = None
    if len(result.best.changes) > 1:
        # What each change of the best trial bought, and the changes that bought nothing out.
        smallest = smallest_fix(result, runner, min_delta=_min_delta(result.best.loss))
        kept_fixes = apply_changes(plan, smallest.changes, fixes.find)[0].applied_fixes
        # The leave-one-out's own trials were trained here, by the runner.
        chosen = trained.get(kept_fixes) or runner.trained.get(kept_fixes)
        if chosen is not None:
            best_first = [chosen, *(t for t in best_first if t is not chosen)]
    return SearchStep(
        tuple(best_first), tuple(skipped.values()), loss, baseline_loss, searched_on, result,
        smallest,
    )


def _min_delta(loss: float) -> float:
    """The least a change must buy to stay: the minimum change of the loss that counts."""
    return MIN_RELATIVE_LOSS_CHANGE * abs(loss) if math.isfinite(loss) else 0.0


def _with_workers(runner: TrialRunner, result: SearchResult) -> dict[tuple[str, ...], Trained]:
    """The best trial of each fix set among all the study's trials, wherever it trained (ties
    go to the earlier trial, as in one process); the best of all is retrained here when a
    worker trained it, for the decision needs its model."""
    best: dict[tuple[str, ...], Trained] = {}
    for record in sorted(result.trials, key=lambda r: r.number):
        trial_plan, _ = apply_changes(runner.plan, record.changes, load_fixes().find)
        fixes = trial_plan.applied_fixes
        if record.state != "complete" or not fixes:
            continue
        if fixes not in best or record.loss < best[fixes].loss:
            local = runner.trained.get(fixes)  # the one trained in this process, with its model
            if local is None or local.loss != record.loss:
                local = Trained(trial_plan, record.loss, record.notes)
            best[fixes] = local
    first = min(best.values(), key=lambda t: t.loss, default=None)
    if first is not None and first.model is None:
        label = "best trial, trained by a worker: " + ", ".join(first.plan.applied_fixes)
        outcome = runner.run_fit(FitRequest(first.plan, runner.seed, label))
        best[first.plan.applied_fixes] = replace(first, model=outcome.model)
    return best


def _centres(
    plan: TrainingPlan, findings: Sequence[Finding], seed: int, *, always: bool = False
) -> dict[str, float]:
    """The learning-rate range test's rate (as ``lower-lr``'s factor) when a finding calls for
    the learning rate, or ``always`` (it joins the space as the retry fix): the search is then
    centred on a measured rate instead of the catalogue's guess, or, when a finding says which
    way, starts there if the measured rate lies that way (Adam at 100 wants about x1e-5, not
    the catalogue's x0.1)."""
    if not always and not any(LOWER_LR in f.fixes for f in findings):
        return {}
    factor = suggested_lr_factor(plan, seed=seed)
    return {} if factor is None else {f"{LOWER_LR}.factor": factor}


def _applicable(
    plan: TrainingPlan,
    findings: Sequence[Finding],
    skipped: dict[str, Skipped],
    *,
    also: Sequence[str] = (),
) -> tuple[str, ...]:
    """The registered fixes the findings call for, then ``also``, that apply to ``plan`` at
    their defaults (a fix that cannot apply opens no part of the space)."""
    known = set(load_fixes().ids)
    called = [fix for f in findings for fix in f.fixes]
    wanted = dict.fromkeys(fix for fix in [*called, *also] if fix in known)
    usable = []
    for fix in wanted:
        fixed, skipped_here = apply_fixes(plan, (fix,))
        skipped.update((s.fix, s) for s in skipped_here if not s.quiet)
        adds_watch = fixed.watches_validation and not plan.watches_validation
        if not skipped_here and plan.data.cross_validates and adds_watch:
            skipped[fix] = Skipped(fix, WATCHES_VALIDATION)
        elif not skipped_here:
            usable.append(fix)
    return tuple(usable)


WATCHES_VALIDATION = (
    "it watches validation data, and the script gives too few rows to spare any: every row "
    "trains, and cross-validation scores each fold on rows it must not watch"
)


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
