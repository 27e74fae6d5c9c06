"""Which slice a comparison is decided on, and every model scored on each slice once.

Decisions are made on the *selection data*: validation and the selection slice pooled, so small
datasets give the decision enough samples. A plan whose fit watches validation (a callback
monitoring a ``val_`` series: early stopping, learning-rate reduction on a plateau; the one
place that says so is :attr:`~advisor.plan.TrainingPlan.watches_validation`) has already looked
at validation: it stopped or decayed where validation was best, so its validation loss flatters
it. A comparison any of whose plans (the user's own or a candidate) watches validation is
therefore decided on the selection slice alone, which no plan looked at; so is a comparison
with a plan that validates on other rows than the user's (a shuffled ``validation_split``,
:attr:`~advisor.plan.TrainingPlan.moves_validation`), which trains on some of the user's
validation rows; the others keep the pooled data. The search scores every trial on
one slice, so that the trials, the baseline and the leave-one-out compare like with like: the
selection slice alone when one of those reasons holds for the user's plan or any fix the
search may use. Data with no selection slice (too small for a
holdout) keeps validation alone, as before: there is nothing else to decide on.

Scores are cached per model and slice (:class:`SliceScores`): the probe and the best trial are
scored by the search, by the decision's first seed and on the holdout, each once.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any

from advisor.fixes.apply import apply_fixes
from advisor.outcomes.scores import Scores, Slice
from advisor.plan import TrainingPlan
from advisor.streams import StreamSlice
from advisor.training.fit import evaluate, evaluate_streams

# ``score(model, plan, loss)``: the penalty-free loss of a trial on the slice the search uses.
Score = Callable[[Any, TrainingPlan, Any], float]


def deciding_slice(*plans: TrainingPlan) -> Slice:
    """The slice a comparison of ``plans`` (the baseline first, all on the same data) is
    decided on: the selection data, the selection slice alone when one of them watches
    validation or validates on other rows, validation alone when the data is too small for a
    holdout."""
    data = plans[0].data
    if not data.has_holdout:
        return Slice.VALIDATION
    if data.has_selection_slice and any(
        plan.watches_validation or plan.moves_validation for plan in plans
    ):
        return Slice.SELECTION_ALONE
    return Slice.SELECTION


def search_slice(plan: TrainingPlan, usable: Sequence[str]) -> Slice:
    """The one slice the search scores every trial of ``plan`` on, when it may use the fixes
    ``usable``: the slice deciding between the user's plan and every one of those fixes."""
    return deciding_slice(plan, *(apply_fixes(plan, (fix,))[0] for fix in usable))


class SliceScores:
    """Each trained model's scores on each slice, computed once per loss (the models are held
    weakly: a pruned trial's model is not kept alive by its scores)."""

    def __init__(self) -> None:
        self._scores: weakref.WeakKeyDictionary[Any, dict[Slice, tuple[Any, Scores]]] = (
            weakref.WeakKeyDictionary()
        )

    def __call__(self, model: Any, plan: TrainingPlan, where: Slice, loss: Any) -> Scores:
        """``model`` (trained by ``plan``) scored with ``loss`` on ``where``: the selection
        data or the selection slice alone, or the slice the report is measured on
        (``HOLDOUT``, or ``VALIDATION`` when the data is too small for a holdout)."""
        known = self._scores.setdefault(model, {})
        cached = known.get(where)
        if cached is not None and (cached[0] is loss or cached[0] == loss):
            return cached[1]
        scores = _evaluate(model, plan, where, loss)
        known[where] = (loss, scores)
        return scores

    def loss_on(self, where: Slice) -> Score:
        """A trial's score for the search: its penalty-free loss on ``where``."""

        def score(model: Any, plan: TrainingPlan, loss: Any) -> float:
            return self(model, plan, where, loss).loss

        return score


def search_score(plan: TrainingPlan, usable: Sequence[str]) -> Score:
    """How a trial of ``plan``'s search over ``usable`` is scored: the penalty-free loss on
    :func:`search_slice` (what a worker process scores its trials with)."""
    return SliceScores().loss_on(search_slice(plan, usable))


def _evaluate(model: Any, plan: TrainingPlan, where: Slice, loss: Any) -> Scores:
    data = plan.data
    streams: tuple[StreamSlice, ...]
    if where == Slice.SELECTION_ALONE:
        streams = () if data.streams is None else (data.streams.select,)
        x, y, weights = data.x_select, data.y_select, data.w_select
    elif where == Slice.SELECTION:
        streams, (x, y, weights) = data.selection_streams(), data.selection()
    else:
        streams, (x, y, weights) = data.measurement_streams(), data.measurement()
    if streams:
        return evaluate_streams(model, plan, streams, loss=loss)
    return evaluate(model, plan, x, y, sample_weight=weights, loss=loss)
