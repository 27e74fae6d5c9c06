"""A worker: runs trials for a search another process created, on a shared Optuna storage.

This is KerasTuner's chief-and-workers shape on Optuna's own machinery: the process that
diagnosed creates the study (space, budget and first trials stored with it), and any number
of ``advisor worker --storage URL --study NAME`` processes, on this machine (an SQLite file)
or a cluster (PostgreSQL, MySQL), ask the study for trials until the shared epoch budget is
spent. Optuna hands each waiting trial to exactly one worker; the budget is read from the
storage, running trials counted as the whole runs they may become, so together they spend
what one process would (two workers starting at the same instant may overrun it; the epoch
that would exceed it stops the trial, which then counts as cut short by the budget).
"""

from __future__ import annotations

from advisor.search.study import load_search_study, run_trials, search_result
from advisor.search.trials import RunTrial, SearchResult


def run_worker(
    storage: str,
    study_name: str,
    run_trial: RunTrial,
    *,
    seed: int | None = None,
    max_trials: int | None = None,
) -> int:
    """Train trials of the study ``study_name`` in ``storage`` until its budget is spent;
    returns how many this worker trained. Give each worker its own ``seed`` (or None): two
    samplers with one seed propose the same trials."""
    study, space, budget = load_search_study(storage, study_name, seed=seed)
    return run_trials(study, space, budget, run_trial, max_trials=max_trials)


def stored_result(storage: str, study_name: str) -> SearchResult:
    """The result of a shared search once its workers are done."""
    study, space, budget = load_search_study(storage, study_name)
    return search_result(study, space, budget)
