"""A worker: runs trials for a search another process created, on a shared Optuna storage.

This is KerasTuner's chief-and-workers shape on Optuna's own machinery: the process that
diagnosed creates the study (space, budget and first trials stored with it), and any number
of ``advisor worker --storage URL --study NAME`` processes, on this machine (an SQLite file)
or a cluster (PostgreSQL, MySQL), ask the study for trials until the shared epoch budget is
spent. Optuna hands each waiting trial to exactly one worker; the budget is read from the
storage, running trials counted as the whole runs they may become, so together they spend
what one process would (two workers starting at the same instant may overrun it; the epoch
that would exceed it stops the trial, which then counts as cut short by the budget).

A worker must train a trial exactly as the diagnosing process would: the study stores, under
:data:`JOB`, how to capture the same plan again (the script, its arguments, which fit, the
sample budget) and what the search fixed after the probe (the epochs, the seed, the fixes
that open the space); :mod:`advisor.commands.worker` rebuilds the trial runner from it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import optuna

from advisor.errors import AdvisorError, error_summary
from advisor.search.study import load_search_study, run_trials, search_result
from advisor.search.trials import LocateRetry, RunTrial, SearchResult

if TYPE_CHECKING:
    from advisor.plan import TrainingPlan

JOB = "advisor.job"


@dataclass(frozen=True)
class SharedSearch:
    """A search shared through an Optuna storage: its URL, the study's name, and how a worker
    captures the plan (``capture``: JSON-able, e.g. the script and its argv)."""

    storage: str
    study_name: str
    capture: Mapping[str, Any] = field(default_factory=dict)
    # Called as the study is made, when workers can join it.
    announce: Callable[[SharedSearch], None] | None = None

    def opened(self) -> None:
        if self.announce is not None:
            self.announce(self)

    def worker_command(self) -> list[str]:
        """The command line of a worker for this study."""
        return ["advisor", "worker", "--storage", self.storage, "--study", self.study_name]

    def search_options(
        self, plan: TrainingPlan, seed: int, usable: Sequence[str]
    ) -> dict[str, Any]:
        """The keyword arguments of :func:`advisor.search.search` that share it."""
        job = {**self.capture, "epochs": plan.epochs, "seed": seed, "usable": list(usable)}
        return {"storage": self.storage, "study_name": self.study_name, "attrs": {JOB: job}}


def open_storage(storage: str) -> None:
    """Connect to ``storage`` (an SQLite file is made if missing), so that a bad URL fails
    before any training rather than when the search starts; an :class:`AdvisorError` if not."""
    try:
        optuna.storages.get_storage(storage)
    except Exception as error:  # a bad URL, a server that does not answer, a missing driver
        raise AdvisorError(f"--storage {storage}: {error_summary(error)}") from None


def run_worker(
    storage: str,
    study_name: str,
    run_trial: RunTrial,
    *,
    seed: int | None = None,
    max_trials: int | None = None,
    locate: LocateRetry | None = None,
) -> int:
    """Train trials of the study ``study_name`` in ``storage`` until its budget is spent;
    returns how many this worker trained. Give each worker its own ``seed`` (or None): two
    samplers with one seed propose the same trials. ``locate`` is the diagnosing process's
    (whichever process asks first after the start trials places the retry)."""
    study, space, budget = load_search_study(storage, study_name, seed=seed)
    return run_trials(
        study, space, budget, run_trial, max_trials=max_trials, storage=storage, locate=locate
    )


def stored_result(storage: str, study_name: str) -> SearchResult:
    """The result of a shared search once its workers are done."""
    study, space, budget = load_search_study(storage, study_name)
    return search_result(study, space, budget)
