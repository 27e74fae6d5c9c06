"""Diagnosis-guided search: the findings open a space, Optuna searches it, the smallest fix
that holds wins.

- :func:`open_space` turns findings (and the fixes' declared knobs) into a :class:`SearchSpace`;
- :func:`search` runs an Optuna study over it with an injected :data:`RunTrial`, within an
  epoch :class:`Budget`, and returns a :class:`SearchResult`;
- :func:`smallest_fix` drops the best trial's changes that add nothing beyond noise;
- :func:`run_worker` lets other processes share a study through an Optuna storage.

Importing this package imports Optuna, never TensorFlow: training is the runner's business.
"""

from advisor.search.smallest import Contribution, SmallestFix, smallest_fix
from advisor.search.space import NO_FIX, KnobSpace, SearchSpace, Slot, open_space
from advisor.search.study import (
    create_search_study,
    epochs_spent,
    run_trials,
    search,
    search_result,
)
from advisor.search.trials import (
    Budget,
    Changes,
    LocateRetry,
    ReportEpoch,
    RunTrial,
    SearchResult,
    TrialOutcome,
    TrialRecord,
    apply_changes,
    objective_value,
)
from advisor.search.worker import run_worker, stored_result

__all__ = [
    "NO_FIX",
    "Budget",
    "Changes",
    "Contribution",
    "KnobSpace",
    "LocateRetry",
    "ReportEpoch",
    "RunTrial",
    "SearchResult",
    "SearchSpace",
    "Slot",
    "SmallestFix",
    "TrialOutcome",
    "TrialRecord",
    "apply_changes",
    "create_search_study",
    "epochs_spent",
    "objective_value",
    "open_space",
    "run_trials",
    "run_worker",
    "search",
    "search_result",
    "smallest_fix",
    "stored_result",
]
