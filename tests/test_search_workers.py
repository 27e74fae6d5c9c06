"""Two worker processes share one search through an SQLite storage (issue 17, item 4): each
trial runs exactly once, and together they spend the one budget."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from advisor.findings import Finding, Severity
from advisor.search import Budget, create_search_study, open_space, stored_result
from tests.conftest import ROOT
from tests.search_objective import lookup

EPOCHS = 3
WORKER = """
import sys
from pathlib import Path
from advisor.search import run_worker
from tests.search_objective import Objective
storage, name, seed, log = sys.argv[1:]
print(run_worker(storage, name, Objective(epochs={epochs}, log=Path(log)), seed=int(seed)))
"""


def test_two_workers_on_one_sqlite_study_run_every_trial_once(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'search.db'}"
    findings = [
        Finding("overfitting", "TST001", Severity.WARNING, "", fixes=("dropout", "l2")),
        Finding("stalled", "TST002", Severity.WARNING, "", fixes=("lower-lr", "relu-he")),
    ]
    space = open_space(findings, lookup)
    budget = Budget(user_epochs=EPOCHS, multiple=6)
    create_search_study(space, budget, storage=storage, study_name="shared")
    log = tmp_path / "trials.jsonl"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER.format(epochs=EPOCHS), storage, "shared", str(seed),
             str(log)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2)
    ]
    trained = [int(w.communicate(timeout=300)[0].split()[-1]) for w in workers]
    assert all(w.returncode == 0 for w in workers)

    runs = [json.loads(line) for line in log.read_text().splitlines()]
    assert {run["pid"] for run in runs} == {w.pid for w in workers}
    result = stored_result(storage, "shared")
    trained_trials = [t for t in result.trials if t.state not in ("reused", "repeat")]
    assert len(runs) == sum(trained) == len(trained_trials) == result.trials_run
    ran = Counter(json.dumps(run["changes"], sort_keys=True) for run in runs)
    recorded = Counter(json.dumps(t.changes, sort_keys=True) for t in trained_trials)
    assert ran == recorded  # each trial of the study was trained once, by one worker
    first = [json.dumps(c, sort_keys=True) for c in ({}, {"dropout": {"rate": 0.3}})]
    assert all(ran[c] >= 1 for c in first)  # the enqueued trials were handed out
    # Together they spend the one budget; each may overrun it by the epoch it was training.
    assert budget.epochs - EPOCHS <= result.epochs_spent <= budget.epochs + 1
