"""``advisor worker --storage URL --study NAME``: train trials of a search another process shares.

``advisor diagnose --storage URL`` makes the study and prints its name. A worker reads from it
what the diagnosing process stored (:data:`advisor.search.worker.JOB`), runs the same script
up to the same fit, in the same folder, to capture the same plan, and trains trials with the
same :class:`~advisor.fixes.search_step.TrialRunner`, seed, epochs and scoring until the
shared budget is spent. The script and its data must be where they were for the diagnosing
process (on a cluster: the same checkout at the same path on every machine).
"""

from __future__ import annotations

import argparse
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from rich.console import Console

from advisor.errors import AdvisorError, error_summary
from advisor.search.study import load_search_study, whole_starts
from advisor.search.trials import Changes
from advisor.search.worker import JOB, run_worker

SQLITE = "sqlite:///"


@dataclass(frozen=True)
class Job:
    """A study to join: what its diagnosing process stored, and its enqueued trials."""

    storage: str
    study_name: str
    stored: dict[str, Any]
    whole: list[Changes]


def run_worker_command(args: argparse.Namespace, joined: Job, *, err: Console) -> int:
    """Train trials of the ``joined`` study until its budget is spent; 0 when done."""
    # Here, not at the top: these load TensorFlow, which bad input never needs.
    from advisor.capture.plan_builder import build_plan
    from advisor.capture.report_stdout import report_only_stdout
    from advisor.commands.diagnose import captured_request, working_folder_kept
    from advisor.fixes.deciding import search_score
    from advisor.fixes.search_step import TrialRunner, search_loss
    from advisor.report.tables import print_problem
    from advisor.training.fit import run

    job, name = joined.stored, joined.study_name
    # `kill` ends the worker as Ctrl-C does, failing its running trial on the way out, so the
    # diagnosing process does not wait for a trial nobody trains any more.
    signal.signal(signal.SIGTERM, _exit_on_terminate)
    with report_only_stdout(), working_folder_kept():
        os.chdir(job["cwd"])
        request, _ = captured_request(
            Path(job["script"]),
            list(job["argv"]),
            int(job["epochs"]),
            fit_number=int(job["fit"]),
            max_samples=int(job["max_samples"]),
        )
        plan = build_plan(request)
        runner = TrialRunner(
            plan,
            seed=int(job["seed"]),
            run_fit=run,
            score=search_score(plan, job["usable"]),
            loss=search_loss(plan, job["usable"]),
            whole=joined.whole,
        )
        trained = run_worker(
            joined.storage, name, runner, seed=args.seed, locate=runner.locate_learning_rate
        )
    print_problem(err, f"worker trained {trained} trials of study {name}", kind="info")
    return 0


def _exit_on_terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def join(storage: str, name: str) -> Job:
    """The study ``name`` of ``storage`` to work for; an :class:`AdvisorError` naming what is
    wrong when there is none to join."""
    if storage.startswith(SQLITE) and not Path(storage[len(SQLITE) :]).is_file():
        # Optuna would create an empty database there; a worker never makes a storage.
        raise AdvisorError(f"--storage {storage}: no such SQLite file")
    try:
        names = optuna.get_all_study_names(storage)
    except Exception as error:  # a bad URL, a server that does not answer, a missing driver
        raise AdvisorError(f"--storage {storage}: {error_summary(error)}") from None
    if name not in names:
        raise AdvisorError(f"--study {name}: no such study in {storage}")
    try:
        study, space, budget = load_search_study(storage, name)
        job = study.user_attrs[JOB]
    except KeyError:
        raise AdvisorError(
            f"--study {name}: not a study of `advisor diagnose --storage`; nothing to train"
        ) from None
    return Job(storage, name, job, whole_starts(space, budget))
