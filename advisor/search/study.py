"""The search itself: an Optuna study over the space the findings opened.

Optuna does the searching (a seeded TPE sampler) and the early stopping (successive halving
on the per-epoch selection loss); this module only translates. A trial's parameters are the
slots' choices and the chosen fixes' knobs; its value is the runner's selection loss, NaN or
infinite counting as the worst. The budget is counted in epochs, read from the study itself,
so several processes sharing one storage share one budget (:mod:`advisor.search.worker`).

The user's own plan is the first trial (the probe's result, reused when the caller passes it)
and each root-cause fix alone at its start values come next (``enqueue_trial``): the search
measures what the catalogue would have before it explores. They run whole only while the
budget holds them all and at least one trial more; otherwise the pruner judges them like any
other trial, or the catalogue would spend the whole budget and no knob would be searched.
Once they are done, the best of them is retried with the space's ``retry_with`` fix added
(the learning rate: a repaired model rarely wants the user's own rate), where ``locate``
measures it on the best start's own plan when nothing located it before.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from typing import Any, cast

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.trial import FrozenTrial, TrialState

from advisor.fix import Param
from advisor.search.claim import claiming
from advisor.search.space import NO_FIX, KnobSpace, SearchSpace
from advisor.search.trials import (
    REDUCTION_FACTOR,
    Budget,
    Changes,
    LocateRetry,
    RunTrial,
    SearchResult,
    TrialOutcome,
    TrialRecord,
    changes_key,
    objective_value,
)

# A space with nothing left to try samples what it already measured: stop after this many.
MAX_CONSECUTIVE_REPEATS = 8

_SPACE, _BUDGET, _STARTUP = "advisor.space", "advisor.budget", "advisor.startup_trials"
_RETRIED = "advisor.retried"
_EPOCHS, _LOSS, _STATE, _NOTES = "epochs", "loss", "state", "notes"
# How often the diagnosing process looks whether the workers' last trials have finished.
POLL_SECONDS = 1.0


def create_search_study(
    space: SearchSpace,
    budget: Budget,
    *,
    baseline: TrialOutcome | None = None,
    seed: int | None = 0,
    storage: str | None = None,
    study_name: str | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> optuna.Study:
    """A new study holding the space, the budget and the first trials: the baseline (added
    finished from ``baseline``, the probe's outcome, or enqueued to run when it is None) and
    each root-cause fix alone. ``storage`` is any Optuna storage URL (None keeps it in
    memory); a study of that name must not exist yet. ``attrs`` are stored with it for the
    workers (what they need to train a trial)."""
    optuna.logging.set_verbosity(logging.WARNING)
    starts = space.start_params()
    startup = len(starts) + 1
    study = optuna.create_study(
        storage=storage,
        study_name=study_name,
        direction="minimize",
        sampler=_sampler(seed, startup),
        pruner=_pruner(budget),
    )
    study.set_user_attr(_SPACE, space.to_dict())
    study.set_user_attr(_BUDGET, [budget.user_epochs, budget.multiple, budget.min_resource])
    study.set_user_attr(_STARTUP, startup)
    for key, value in (attrs or {}).items():
        study.set_user_attr(key, value)
    if baseline is None:
        study.enqueue_trial(space.baseline_params())
    else:
        study.add_trial(_reused_baseline(space, baseline))
    for params in starts:
        study.enqueue_trial(params)
    return study


def load_search_study(
    storage: str, study_name: str, *, seed: int | None = None
) -> tuple[optuna.Study, SearchSpace, Budget]:
    """A study another process created, with the space and budget it stored."""
    optuna.logging.set_verbosity(logging.WARNING)
    summary = optuna.load_study(study_name=study_name, storage=storage)
    attrs = summary.user_attrs
    budget = Budget(*attrs[_BUDGET])
    study = optuna.load_study(
        study_name=study_name,
        storage=storage,
        sampler=_sampler(seed, int(attrs[_STARTUP])),
        pruner=_pruner(budget),
    )
    return study, SearchSpace.from_dict(attrs[_SPACE]), budget


def run_trials(
    study: optuna.Study,
    space: SearchSpace,
    budget: Budget,
    run_trial: RunTrial,
    *,
    max_trials: int | None = None,
    storage: str | None = None,
    locate: LocateRetry | None = None,
) -> int:
    """Ask, train, tell until the budget's epochs are spent (or ``max_trials`` trained, or the
    space holds nothing new); returns the trials this call trained. ``storage`` is the URL the
    study lives in, when other processes share it; ``locate`` measures the retry's unlocated
    knob on the best start (see :func:`_enqueue_retry`)."""
    trained = repeats = 0
    while budget.epochs - _epochs_promised(study, budget) >= budget.user_epochs and repeats < (
        MAX_CONSECUTIVE_REPEATS
    ):
        if max_trials is not None and trained >= max_trials:
            break
        with claiming(storage):  # the retry's flag and the ask, as one step per process
            _enqueue_retry(study, space, locate)
            trial = study.ask()
        changes = suggest_changes(trial, space)
        earlier = _measured(study, space, changes, trial.number)
        if earlier is not None:
            trial.set_user_attr(_STATE, "repeat")
            trial.set_user_attr(_EPOCHS, 0)
            trial.set_user_attr(_LOSS, earlier.user_attrs[_LOSS])
            study.tell(trial, earlier.value)
            repeats += 1
            continue
        repeats = 0
        trained += 1
        _train(study, trial, changes, budget, run_trial)
    return trained


def start_changes(space: SearchSpace) -> list[Changes]:
    """The changes of the trials the search enqueues first (each root-cause fix alone)."""
    return [_changes_of(params, space) for params in space.start_params()]


def whole_starts(space: SearchSpace, budget: Budget) -> list[Changes]:
    """The start trials that run whole, unpruned: all of them while the budget holds a whole
    run of each and of one trial more, none otherwise (the pruner then judges them)."""
    starts = start_changes(space)
    return starts if (len(starts) + 1) * budget.user_epochs <= budget.epochs else []


def _enqueue_retry(
    study: optuna.Study, space: SearchSpace, locate: LocateRetry | None = None
) -> None:
    """Once every start trial finished, enqueue (once per study) the best finished one with
    the space's ``retry_with`` fix added: where nothing located its knob, at the value
    ``locate`` measures on the best start's plan, or, when it cannot say, on both sides of
    the user's value (see :meth:`SearchSpace.retry_params`)."""
    if space.retry_with is None or study.user_attrs.get(_RETRIED):
        return
    startup = int(study.user_attrs[_STARTUP])
    trials = study.get_trials(deepcopy=False)
    if len(trials) < startup or any(not t.state.is_finished() for t in trials[:startup]):
        return
    study.set_user_attr(_RETRIED, True)
    done = [t for t in trials[1:startup] if t.state == TrialState.COMPLETE and t.value is not None]
    best = min(done, key=lambda t: (cast(float, t.value), t.number), default=None)
    if best is None:
        return
    measured = None
    unlocated = space.unlocated_retry_knob is not None and space.retry_params(best.params)
    if locate is not None and unlocated:  # a range test costs: only for a retry to place
        measured = locate(_changes_of(best.params, space))
    for params in space.retry_params(best.params, measured):
        study.enqueue_trial(params)


def wait_for_others(study: optuna.Study) -> None:
    """Return once no trial is running: the trials other workers took are finished (a failed
    worker's trial fails with it), so the study's result is whole."""
    while study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        time.sleep(POLL_SECONDS)


def suggest_changes(trial: optuna.Trial, space: SearchSpace) -> dict[str, dict[str, Param]]:
    """The changes ``trial`` samples (or was enqueued with): per slot one fix or none, and
    the chosen fixes' knobs (knobs the space does not search keep their start value)."""
    changes: dict[str, dict[str, Param]] = {}
    for slot in space.slots:
        chosen = str(trial.suggest_categorical(slot.param, slot.choices))
        if chosen != NO_FIX:
            changes[chosen] = {k.name: _suggest(trial, k) for k in space.knobs_of(chosen)}
    return changes


def epochs_spent(study: optuna.Study) -> int:
    """Epochs trained by the study's trials: what finished ones recorded, and the epochs
    running ones (in this or another process) have reported so far."""
    spent = 0
    for trial in study.get_trials(deepcopy=False):
        if trial.state == TrialState.RUNNING:
            spent += len(trial.intermediate_values)
        else:
            spent += int(trial.user_attrs.get(_EPOCHS, 0))
    return spent


def _epochs_promised(study: optuna.Study, budget: Budget) -> int:
    """Epochs spent, plus what running trials may still train: a whole run each (another
    worker's trial started before this one will want its epochs)."""
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    return epochs_spent(study) + sum(
        max(0, budget.user_epochs - len(trial.intermediate_values)) for trial in running
    )


def search_result(study: optuna.Study, space: SearchSpace, budget: Budget) -> SearchResult:
    """The study's trials as records, the best finished one (ties go to fewer changes, then
    to the earlier trial) and what was spent; time is from the first trial's start to the
    last one's end."""
    frozen = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
    records = tuple(_record(t, space) for t in frozen)
    finished = [r for r in records if r.finished]
    if not finished:
        raise ValueError(f"study {study.study_name!r} has no finished trial to choose from")
    best = min(finished, key=lambda r: (objective_value(r.loss), len(r.changes), r.number))
    baseline = next((r for r in finished if not r.changes), None)
    trained = [t for t in frozen if t.user_attrs.get(_STATE) not in ("reused", "repeat")]
    starts = [t.datetime_start for t in trained if t.datetime_start is not None]
    ends = [t.datetime_complete for t in trained if t.datetime_complete is not None]
    seconds = (max(ends) - min(starts)).total_seconds() if starts and ends else 0.0
    return SearchResult(records, best, baseline, sum(r.epochs for r in records),
                        budget.epochs, seconds)


def _sampler(seed: int | None, startup: int) -> optuna.samplers.TPESampler:
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup)


def _pruner(budget: Budget) -> optuna.pruners.SuccessiveHalvingPruner:
    return optuna.pruners.SuccessiveHalvingPruner(
        min_resource=budget.first_rung, reduction_factor=REDUCTION_FACTOR
    )


def _train(
    study: optuna.Study,
    trial: optuna.Trial,
    changes: Changes,
    budget: Budget,
    run_trial: RunTrial,
) -> None:
    out_of_budget = False
    reported = 0

    def report_epoch(epoch: int, loss: float) -> bool:
        nonlocal out_of_budget, reported
        if epoch < 1:
            raise ValueError(f"report_epoch counts epochs from 1; received epoch={epoch}")
        trial.report(objective_value(loss), epoch)
        reported += 1
        out_of_budget = epochs_spent(study) >= budget.epochs
        return out_of_budget or trial.should_prune()

    try:
        outcome = run_trial(changes, report_epoch)
    except BaseException:
        trial.set_user_attr(_EPOCHS, reported)  # a failed trial's epochs were spent too
        study.tell(trial, state=TrialState.FAIL)
        raise
    # A trial told to stop at its last epoch ran whole: only the runner knows which it was.
    state = ("budget" if out_of_budget else "pruned") if outcome.pruned else "complete"
    trial.set_user_attr(_STATE, state)
    trial.set_user_attr(_EPOCHS, outcome.epochs)
    trial.set_user_attr(_LOSS, outcome.loss)
    trial.set_user_attr(_NOTES, list(outcome.notes))
    if state == "complete":
        study.tell(trial, objective_value(outcome.loss))
    else:
        study.tell(trial, state=TrialState.PRUNED)


def _suggest(trial: optuna.Trial, knob: KnobSpace) -> Param:
    if not knob.searched:
        return knob.start
    if knob.choices:
        return cast(Param, trial.suggest_categorical(knob.key, knob.choices))
    assert knob.low is not None and knob.high is not None
    if knob.integer:
        step = 1 if knob.log or knob.step is None else int(knob.step)
        return trial.suggest_int(knob.key, int(knob.low), int(knob.high), step=step,
                                 log=knob.log)
    return trial.suggest_float(knob.key, knob.low, knob.high, log=knob.log,
                               step=None if knob.log else knob.step)


def _measured(
    study: optuna.Study, space: SearchSpace, changes: Changes, number: int
) -> FrozenTrial | None:
    """A finished trial (not ``number``) that trained exactly ``changes``, if any."""
    key = changes_key(changes)
    for frozen in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if frozen.number != number and changes_key(_changes_of(frozen.params, space)) == key:
            return frozen
    return None


def _changes_of(params: Mapping[str, Any], space: SearchSpace) -> dict[str, dict[str, Param]]:
    """The changes a finished trial's parameters stand for (the inverse of suggesting)."""
    changes: dict[str, dict[str, Param]] = {}
    for slot in space.slots:
        chosen = params.get(slot.param, NO_FIX)
        if chosen != NO_FIX:
            changes[chosen] = {
                k.name: params[k.key] if k.searched else k.start for k in space.knobs_of(chosen)
            }
    return changes


def _record(frozen: FrozenTrial, space: SearchSpace) -> TrialRecord:
    state = frozen.user_attrs.get(_STATE, "pruned" if frozen.state == TrialState.PRUNED else
                                  "complete")
    loss = float(frozen.user_attrs.get(_LOSS, math.nan))
    return TrialRecord(frozen.number, _changes_of(frozen.params, space),
                       int(frozen.user_attrs.get(_EPOCHS, 0)), loss, state,
                       tuple(frozen.user_attrs.get(_NOTES, ())))


def _reused_baseline(space: SearchSpace, outcome: TrialOutcome) -> FrozenTrial:
    params = space.baseline_params()
    distributions: dict[str, BaseDistribution] = {
        slot.param: CategoricalDistribution(slot.choices) for slot in space.slots
    }
    return optuna.trial.create_trial(
        params=params,
        distributions=distributions,
        value=objective_value(outcome.loss),
        intermediate_values={
            epoch: objective_value(loss) for epoch, loss in enumerate(outcome.curve, start=1)
        },
        user_attrs={_STATE: "reused", _EPOCHS: 0, _LOSS: outcome.loss},
    )


def search(
    space: SearchSpace,
    budget: Budget,
    run_trial: RunTrial,
    *,
    baseline: TrialOutcome | None = None,
    seed: int | None = 0,
    storage: str | None = None,
    study_name: str | None = None,
    attrs: Mapping[str, Any] | None = None,
    max_trials: int | None = None,
    locate: LocateRetry | None = None,
) -> SearchResult:
    """Search ``space`` within ``budget`` with ``run_trial``: the whole search in one process,
    or, in a shared ``storage``, with any :func:`advisor.search.worker.run_worker` that joins
    (their trials are waited for before the result is read)."""
    study = create_search_study(
        space, budget, baseline=baseline, seed=seed, storage=storage, study_name=study_name,
        attrs=attrs,
    )
    run_trials(study, space, budget, run_trial, max_trials=max_trials, storage=storage,
               locate=locate)
    if storage is not None:
        wait_for_others(study)
    return search_result(study, space, budget)
