"""Two worker processes share one search through an SQLite storage (issue 17, item 4): each
trial runs exactly once, and together they spend the one budget."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import optuna
import pytest

from advisor.findings import Finding, Severity
from advisor.search import Budget, create_search_study, open_space, stored_result
from advisor.search.worker import JOB
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


CLAIMER = """
import sys
import optuna
from advisor.search.claim import claiming
optuna.logging.set_verbosity(optuna.logging.ERROR)
storage, asks = sys.argv[1], int(sys.argv[2])
study = optuna.load_study(storage=storage, study_name="claims")
numbers = []
for _ in range(asks):
    with claiming(storage):
        numbers.append(study.ask().number)
print(" ".join(map(str, numbers)))
"""


def test_two_processes_never_claim_one_waiting_trial_of_an_sqlite_study(tmp_path: Path) -> None:
    """Without the claim lock, two processes asking 30 of 60 enqueued SQLite trials shared
    about 5 of them (Optuna 5.1), so a worker trained a trial another had taken."""
    storage = f"sqlite:///{tmp_path / 'claims.db'}"
    study = optuna.create_study(storage=storage, study_name="claims")
    for x in range(60):
        study.enqueue_trial({"x": float(x)})
    claimers = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, storage, "30"], cwd=ROOT, stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    claimed = [w.communicate(timeout=120)[0].split() for w in claimers]
    assert all(w.returncode == 0 for w in claimers)
    assert [len(numbers) for numbers in claimed] == [30, 30]
    assert not set(claimed[0]) & set(claimed[1])


# A tiny script for the workers to capture: a small dense classifier on fixed random data.
SCRIPT = """
import numpy as np
import keras
rng = np.random.default_rng(0)
x = rng.normal(size=(240, 6)).astype("float32")
y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("int32")
model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="relu"),
                          keras.layers.Dense(2, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
model.fit(x, y, epochs=4, batch_size=32, validation_split=0.25, verbose=0)
"""


def test_two_advisor_workers_train_what_one_process_trains(tmp_path: Path) -> None:
    """``advisor worker`` processes capture the plan the study's job names and train its
    trials; every trial runs once and each loss equals the one-process search's."""
    from advisor.capture.plan_builder import build_plan
    from advisor.commands.diagnose import captured_request
    from advisor.fix_registry import load_fixes
    from advisor.fixes.deciding import search_score
    from advisor.fixes.search_step import TrialRunner, search_loss
    from advisor.search import search
    from advisor.search.study import start_changes
    from advisor.search.worker import SharedSearch
    from advisor.training.fit import run

    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    request, _ = captured_request(script, [], 4, fit_number=1, max_samples=10_000)
    plan = build_plan(request)
    findings = [
        Finding("overfitting", "TST001", Severity.WARNING, "", fixes=("dropout", "l2")),
        Finding("stalled", "TST002", Severity.WARNING, "", fixes=("lower-lr",)),
    ]
    usable = ("dropout", "l2", "lower-lr")
    space = open_space(findings, load_fixes().find)
    # The user's plan and each root-cause fix alone: the trials a search enqueues, which any
    # number of workers take in the same order (beyond them, parallel TPE proposes otherwise).
    budget = Budget(user_epochs=plan.fit_epochs, multiple=1 + len(space.start_params()))

    def runner() -> TrialRunner:
        return TrialRunner(plan, seed=0, run_fit=run, score=search_score(plan, usable),
                           loss=search_loss(plan, usable), whole=start_changes(space))

    alone = search(space, budget, runner(), seed=0)

    storage = f"sqlite:///{tmp_path / 'search.db'}"
    capture = {"script": str(script), "argv": [], "cwd": str(tmp_path), "fit": 1,
               "max_samples": 10_000}
    shared = SharedSearch(storage, "shared", capture)
    create_search_study(space, budget, storage=storage, study_name="shared",
                        attrs=shared.search_options(plan, 0, usable)["attrs"])
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "advisor", "worker", "--storage", storage, "--study",
             "shared", "--seed", str(seed)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2)
    ]
    said = [w.communicate(timeout=600)[1] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], said
    trained = [int(text.split("worker trained ")[1].split()[0]) for text in said]

    together = stored_result(storage, "shared")
    assert sum(trained) == together.trials_run == alone.trials_run == budget.multiple
    assert [(t.number, t.changes, t.state) for t in together.trials] == [
        (t.number, t.changes, t.state) for t in alone.trials
    ]
    assert [t.loss for t in together.trials] == pytest.approx([t.loss for t in alone.trials])
    assert together.best.changes == alone.best.changes


def test_diagnose_opens_its_search_to_workers_in_the_storage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--storage``: the search's study is kept there under the name printed on stderr, with
    what a worker needs; the report counts the trials the study holds."""
    from advisor.cli import main

    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    storage = f"sqlite:///{tmp_path / 'search.db'}"
    code = main(["diagnose", str(script), "--storage", storage, "--format", "json"])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    name = err.split("search study ")[1].split()[0]
    assert f"advisor worker --storage {storage} --study {name}" in err
    job = optuna.load_study(study_name=name, storage=storage).user_attrs[JOB]
    assert (job["script"], job["argv"], job["seed"]) == (str(script.resolve()), [], 0)
    search_cost = json.loads(out)["reports"][0]["search"]
    assert search_cost["trials"] == stored_result(storage, name).trials_run >= 1


@pytest.mark.parametrize(
    ("storage", "study", "expected"),
    [
        ("sqlite:///{tmp}/missing.db", "x", "no such SQLite file"),
        ("sqlite:///{tmp}/made.db", "x", "--study x: no such study in"),
        ("sqlite:///{tmp}/made.db", "other", "not a study of `advisor diagnose --storage`"),
        ("nosuchdialect://host/db", "x", "--storage nosuchdialect://host/db: "),
    ],
)
def test_a_worker_without_a_study_to_join_says_why_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], storage: str, study: str, expected: str
) -> None:
    from advisor.cli import main

    optuna.create_study(storage=f"sqlite:///{tmp_path}/made.db", study_name="other")
    url = storage.format(tmp=tmp_path)
    assert main(["worker", "--storage", url, "--study", study]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "missing.db").exists()  # a worker never makes a storage


def test_jobs_shares_the_search_with_local_workers_in_a_temporary_storage(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """``--jobs 2``: one ``advisor worker`` joins the study, in an SQLite file that is gone
    after the run; the report counts every trial, the worker's too."""
    from advisor.cli import main

    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    code = main(["diagnose", str(script), "--jobs", "2", "--format", "json"])
    out, err = capfd.readouterr()
    assert code in (0, 1), err
    storage = err.split("--storage sqlite:///")[1].split()[0]
    assert not Path(storage).exists()
    trained_by_worker = int(err.split("worker trained ")[1].split()[0])
    assert json.loads(out)["reports"][0]["search"]["trials"] >= trained_by_worker
