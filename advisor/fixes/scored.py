"""Each trained model scored once per slice: the search scores the probe and every trial on
the data that decides, and the decision's first look needs those same numbers of the same
models. Scoring again would cost a fresh trace of Keras' evaluate and predict functions per
model and give the same values, so the decision reads them from here.

A score is reused only for the very same model object, data split, batch size, slice and loss
function (held by identity; models only weakly, so a pruned trial's model is not kept alive).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from advisor.outcomes.scores import Scores, Slice
from advisor.plan import TrainingPlan

# ``compute(model, plan, where, loss)``: the scores of ``model`` on slice ``where``.
ComputeScores = Callable[[Any, TrainingPlan, Slice, Any], Scores]
_Key = tuple[int, int, int | None, Slice, int]


class ScoreCache:
    """``compute``, remembering what it returned for each model, data, slice and loss."""

    def __init__(self, compute: ComputeScores) -> None:
        self._compute = compute
        self._scores: dict[_Key, tuple[weakref.ref[Any], Any, Any, Scores]] = {}

    def __call__(self, model: Any, plan: TrainingPlan, where: Slice, loss: Any) -> Scores:
        key = (id(model), id(plan.data), plan.batch_size, where, id(loss))
        hit = self._scores.get(key)
        if hit is not None and hit[0]() is model and hit[1] is plan.data and hit[2] is loss:
            return hit[3]
        scores = self._compute(model, plan, where, loss)
        self._scores[key] = (weakref.ref(model), plan.data, loss, scores)
        return scores
