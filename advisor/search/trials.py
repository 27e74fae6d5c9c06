"""What the search asks of a trial runner, and what it hands back.

The search never trains anything itself: the caller injects :data:`RunTrial`, which turns
:data:`Changes` into a trained plan and reports the selection loss after every epoch. The
callback it is given answers whether to stop (the pruner's decision, or the budget's), so the
runner needs no Optuna. Everything here is plain data, typed, and free of Keras.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from advisor.fix import Fix, Param, Skipped

if TYPE_CHECKING:
    from advisor.plan import TrainingPlan

# The fixes a trial applies, in order, each with its knob values (fix id -> knob -> value):
# the runner folds ``lookup(fix).applied(plan, params)`` over them (see ``apply_changes``).
Changes = Mapping[str, Mapping[str, Param]]
# ``report_epoch(epoch, loss)``: after epoch ``epoch`` (1-based: epochs done so far), the
# penalty-free selection loss; returns True when the trial should stop now.
ReportEpoch = Callable[[int, float], bool]

DEFAULT_BUDGET_MULTIPLE = 3.0
# Successive halving keeps the best third of the trials at each rung.
REDUCTION_FACTOR = 3


@dataclass(frozen=True)
class TrialOutcome:
    """One trained trial: its selection loss, the epochs it ran, and whether it stopped
    because ``report_epoch`` said so. ``curve`` is the per-epoch selection loss (the probe's
    curve lets the reused baseline stand beside the trials); ``notes`` what the fit said about
    itself, kept with the trial so that a trial another process trained reports them too."""

    loss: float
    epochs: int
    pruned: bool = False
    curve: tuple[float, ...] = ()
    notes: tuple[str, ...] = ()


RunTrial = Callable[[Changes, ReportEpoch], TrialOutcome]
# ``locate(changes)``: the retry fix's unlocated knob as measured on the plan with ``changes``
# (the best start's own model: a learning-rate range test), None when the measurement cannot
# say. Where the user's model learns at no rate, the repaired one may show where it learns.
LocateRetry = Callable[[Changes], float | None]

TrialState = Literal["complete", "pruned", "budget", "reused", "repeat"]


@dataclass(frozen=True)
class TrialRecord:
    """One trial of a search as the report shows it.

    ``state``: ``complete``; ``pruned`` (the pruner stopped it); ``budget`` (the epoch budget
    ran out while it trained); ``reused`` (the probe's result, not retrained); ``repeat``
    (changes a finished trial already measured: its loss, no epochs). ``epochs`` are those
    this search spent on it; ``loss`` is as measured, NaN included.
    """

    number: int
    changes: Changes
    epochs: int
    loss: float
    state: TrialState
    notes: tuple[str, ...] = ()

    @property
    def finished(self) -> bool:
        """True when the loss is that of a whole run, comparable with the others."""
        return self.state in ("complete", "reused", "repeat")


@dataclass(frozen=True)
class Budget:
    """The search's budget in epochs, stated as a multiple of the user's own run.

    A trial starts only when the budget not yet spent or promised to running trials holds a
    whole run of ``user_epochs``: a trial the budget would cut short cannot be compared with
    the others, so it cannot be chosen, and the epochs it would burn are better left unspent.
    Pruned trials give back what they did not run. ``min_resource`` is the pruner's first
    rung, the epochs before it first compares trials; 0 means a ninth of the user's run, so
    that the rungs fall at 1/9, 1/3 and all of it.
    """

    user_epochs: int
    multiple: float = DEFAULT_BUDGET_MULTIPLE
    min_resource: int = 0

    def __post_init__(self) -> None:
        if self.user_epochs < 1 or self.multiple <= 0 or self.min_resource < 0:
            raise ValueError(
                "a search budget needs user_epochs >= 1, multiple > 0 and min_resource >= 0; "
                f"received user_epochs={self.user_epochs}, multiple={self.multiple}, "
                f"min_resource={self.min_resource}"
            )

    @property
    def epochs(self) -> int:
        return math.floor(self.multiple * self.user_epochs)

    @property
    def first_rung(self) -> int:
        return self.min_resource or max(1, math.ceil(self.user_epochs / REDUCTION_FACTOR**2))


@dataclass(frozen=True)
class SearchResult:
    """All trials of one search, the best one, and what the search spent."""

    trials: tuple[TrialRecord, ...]
    best: TrialRecord
    baseline: TrialRecord | None
    epochs_spent: int
    budget_epochs: int
    seconds: float

    @property
    def trials_run(self) -> int:
        """Trials that trained (the reused probe and repeats trained nothing)."""
        return sum(1 for t in self.trials if t.state not in ("reused", "repeat"))

    def spent(self) -> str:
        """What the report says the search cost, e.g. ``7 trials (3 stopped early), 27 of 27
        epochs, 41.2 s``."""
        stopped = sum(1 for t in self.trials if t.state in ("pruned", "budget"))
        return (
            f"{self.trials_run} trials ({stopped} stopped early), "
            f"{self.epochs_spent} of {self.budget_epochs} epochs, {self.seconds:.1f} s"
        )


def objective_value(loss: float) -> float:
    """The value the study minimises: a NaN or infinite loss is the worst there is, so a plan
    whose loss is finite always beats one that diverged."""
    return loss if math.isfinite(loss) else math.inf


ChangesKey = tuple[tuple[str, tuple[tuple[str, Param], ...]], ...]


def changes_key(changes: Changes) -> ChangesKey:
    """A hashable form of ``changes``: two trials with equal keys train the same plan."""
    return tuple((fix, tuple(sorted(params.items()))) for fix, params in changes.items())


def apply_changes(
    plan: TrainingPlan, changes: Changes, lookup: Callable[[str], Fix]
) -> tuple[TrainingPlan, tuple[Skipped, ...]]:
    """``plan`` with each change applied in order (what a runner trains), and the fixes that
    did not apply. A fix that skips leaves the plan as it was."""
    skipped: list[Skipped] = []
    for fix_id, params in changes.items():
        applied = lookup(fix_id).applied(plan, params)
        if isinstance(applied, Skipped):
            skipped.append(applied)
        else:
            plan = applied
    return plan, tuple(skipped)
