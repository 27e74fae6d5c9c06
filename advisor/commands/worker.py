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
from pathlib import Path
from typing import Any

from rich.console import Console

from advisor.capture.plan_builder import build_plan
from advisor.capture.report_stdout import report_only_stdout
from advisor.commands.diagnose import captured_request, working_folder_kept
from advisor.errors import AdvisorError, error_summary
from advisor.fixes.search_step import TrialRunner, search_loss
from advisor.fixes.selection import selection_score
from advisor.report.tables import print_problem
from advisor.search.study import load_search_study, start_changes
from advisor.search.worker import JOB, run_worker
from advisor.training.fit import run

SQLITE = "sqlite:///"


def run_worker_command(args: argparse.Namespace, *, err: Console) -> int:
    """Train trials of ``args.study`` until its budget is spent; 0 when done."""
    storage, name = args.storage, args.study
    job, whole = _job(storage, name)
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
            score=selection_score(plan),
            loss=search_loss(plan, job["usable"]),
            whole=whole,
        )
        trained = run_worker(storage, name, runner, seed=args.seed)
    print_problem(err, f"worker trained {trained} trials of study {name}", kind="info")
    return 0


def _job(storage: str, name: str) -> tuple[dict[str, Any], list[Any]]:
    """The stored job of study ``name`` and its enqueued trials' changes; an
    :class:`AdvisorError` naming what is wrong when there is none to join."""
    if storage.startswith(SQLITE) and not Path(storage[len(SQLITE) :]).is_file():
        # Optuna would create an empty database there; a worker never makes a storage.
        raise AdvisorError(f"--storage {storage}: no such SQLite file")
    try:
        study, space, _ = load_search_study(storage, name)
    except KeyError:
        raise AdvisorError(f"--study {name}: no such study in {storage}") from None
    except Exception as error:  # a bad URL, a server that does not answer, a missing driver
        raise AdvisorError(f"--storage {storage}: {error_summary(error)}") from None
    job = study.user_attrs.get(JOB)
    if not isinstance(job, dict):
        raise AdvisorError(
            f"--study {name}: not a study of `advisor diagnose --storage`; nothing to train"
        )
    return job, start_changes(space)
