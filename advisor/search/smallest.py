"""The smallest fix that holds: leave one change out at a time, keep only what adds.

The best trial of a search may stack several changes, and a change that rode along (a symptom's
fix behind the root cause's, a callback that never fired) is a change the user must carry for
nothing. From the best trial, each change is left out in turn and the rest retrained on the
selection data; the change whose absence costs least goes if it bought no more than
``min_delta`` (Keras' word for the smallest change that counts), and the round repeats on
what is left. What each kept change bought is recorded for the report. The last change left
is kept: whether it beats the user's own plan is the selection step's question, not this one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from advisor.fix import Param
from advisor.search.trials import (
    Changes,
    ChangesKey,
    RunTrial,
    SearchResult,
    changes_key,
    objective_value,
)


@dataclass(frozen=True)
class Contribution:
    """What one change bought: the selection loss without it (the others kept) minus the loss
    with it; positive when it helps. ``kept`` False for a change that was dropped."""

    fix: str
    loss_without: float
    bought: float
    kept: bool


@dataclass(frozen=True)
class SmallestFix:
    """The changes that hold, their loss, what each change bought, and the cost of finding out
    (leave-one-out runs train whole runs, unpruned)."""

    changes: Changes
    loss: float  # the study's value: NaN and inf count as inf
    contributions: tuple[Contribution, ...]
    epochs_spent: int
    trials_run: int


def smallest_fix(result: SearchResult, run_trial: RunTrial, *, min_delta: float) -> SmallestFix:
    """The best trial of ``result`` without the changes that do not add more than
    ``min_delta`` to the selection loss. Plans the search already trained to the end are
    not trained again."""
    known: dict[ChangesKey, float] = {
        changes_key(t.changes): objective_value(t.loss) for t in result.trials if t.finished
    }
    current: dict[str, Mapping[str, Param]] = dict(result.best.changes)
    loss = objective_value(result.best.loss)
    dropped: list[Contribution] = []
    epochs = trials = 0

    def measure(changes: Changes) -> float:
        nonlocal epochs, trials
        key = changes_key(changes)
        if key not in known:
            outcome = run_trial(changes, _never_stop)
            known[key] = objective_value(outcome.loss)
            epochs += outcome.epochs
            trials += 1
        return known[key]

    while True:
        without = {
            fix: measure({f: p for f, p in current.items() if f != fix}) for fix in current
        }
        bought = {fix: _bought(without[fix], loss) for fix in current}
        if len(current) <= 1:
            break
        weakest = min(current, key=lambda fix: bought[fix])
        if bought[weakest] > min_delta:
            break
        dropped.append(Contribution(weakest, without[weakest], bought[weakest], kept=False))
        del current[weakest]
        loss = without[weakest]
    kept = [Contribution(fix, without[fix], bought[fix], kept=True) for fix in current]
    return SmallestFix(current, loss, (*kept, *dropped), epochs, trials)


def _bought(loss_without: float, loss_with: float) -> float:
    """``loss_without - loss_with``; two diverged runs differ by nothing."""
    if math.isinf(loss_without) and math.isinf(loss_with):
        return 0.0
    return loss_without - loss_with


def _never_stop(epoch: int, loss: float) -> bool:
    return False
