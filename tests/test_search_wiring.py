"""The fix step searches for real: trials train through fit.py, report each epoch's
penalty-free validation loss, stop when told, stay within the budget, and the report says
what the search spent."""

from __future__ import annotations

from dataclasses import replace

import keras
import pytest

from advisor.capture.plan_builder import build_plan
from advisor.findings import Finding, Severity
from advisor.fixes.apply import apply_fixes
from advisor.fixes.selection import improve
from advisor.plan import TrainingPlan
from advisor.plan_edits import ScaleLearningRate
from advisor.python_api import plan_request
from advisor.training.fit import fit_plan, run, suggested_lr_factor
from tests.test_honest_selection import SCALE, X, Y, export_fits, make_plan

BLOW_UP = Finding(
    "divergence",
    "ADV101",
    Severity.ERROR,
    "loss rose 1000x",
    fixes=("lower-lr",),
    directions={"lower-lr": "down"},
)


def test_report_epoch_gets_the_penalty_free_loss_and_stops_the_fit() -> None:
    plan, _ = apply_fixes(make_plan(epochs=5), ("l2",))
    reported: list[tuple[int, float]] = []

    def report_epoch(epoch: int, loss: float) -> bool:
        reported.append((epoch, loss))
        return epoch == 2

    outcome = fit_plan(plan, seed=0, report_epoch=report_epoch)
    assert outcome.stopped and outcome.history.n_epochs == 2
    assert [epoch for epoch, _ in reported] == [1, 2]
    val_loss = outcome.history.get("val_loss")
    assert val_loss is not None
    # The L2 penalty is in Keras' val_loss, never in what the search compares.
    losses = [loss for _, loss in reported]
    assert all(a < b for a, b in zip(losses, val_loss.values, strict=True))


def test_the_search_stays_in_its_budget_and_the_report_states_the_cost() -> None:
    plan = make_plan(epochs=3)
    probe = fit_plan(plan, seed=0)
    improvement = improve(plan, [BLOW_UP, SCALE], probe, seed=0, repeats=1, run_fit=run, budget=3.0)
    spent = improvement.search
    assert spent is not None and spent.trials >= 2  # each root-cause fix alone, at least
    assert 0 < spent.epochs <= spent.budget_epochs == 9 and spent.seconds > 0
    assert improvement.to_dict()["search"] == spent.to_dict()
    assert {c.fixes for c in improvement.candidates} >= {("lower-lr",), ("standardize",)}
    # The divergence opened the learning rate only downward.
    for edit in improvement.chosen_plan.edits_of(ScaleLearningRate):
        assert edit.factor <= 1.0


def test_a_smaller_budget_trains_fewer_epochs() -> None:
    plan = make_plan(epochs=3)
    probe = fit_plan(plan, seed=0)
    small = improve(plan, [SCALE], probe, seed=0, repeats=1, run_fit=run, budget=1.0)
    assert small.search is not None and small.search.epochs <= 3
    with pytest.raises(ValueError, match="multiple > 0"):
        improve(replace(plan), [SCALE], probe, seed=0, repeats=1, run_fit=run, budget=0.0)


@pytest.mark.parametrize("user_epochs", [3, 6], ids=["probe-is-users-run", "probe-shortened"])
def test_the_export_trains_what_the_chosen_trial_ran(user_epochs: int) -> None:
    plan = replace(make_plan(validation_split=0.0, epochs=3), user_epochs=user_epochs)
    chosen, _ = apply_fixes(plan, ("train-longer", "standardize"))
    probe = fit_plan(plan, seed=0)
    improvement = improve(plan, [], probe, seed=0, repeats=1, run_fit=run)
    improvement = replace(improvement, chosen_plan=chosen, adopted="fixed")
    (exported,), final = export_fits(improvement)
    # train-longer's budget is not undone: as long as the trial's, relative to the user's run.
    assert chosen.fit_epochs > chosen.epochs
    assert exported.fit_epochs == chosen.fit_epochs * user_epochs // 3
    assert exported.applied_fixes == chosen.applied_fixes
    assert exported.all_callbacks() == chosen.all_callbacks()
    assert final.final_fit is not None and final.final_fit.epochs == exported.fit_epochs


def sgd_plan(learning_rate: float) -> TrainingPlan:
    model = keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="mse")
    x = (X - X.mean(axis=0)) / X.std(axis=0)
    return build_plan(plan_request(model, (x, Y), validation_split=0.25, epochs=3))


def test_the_range_test_centres_the_rate_on_the_side_it_measured() -> None:
    too_small = suggested_lr_factor(sgd_plan(1e-5), seed=0)
    too_large = suggested_lr_factor(sgd_plan(10.0), seed=0)
    assert too_small is not None and too_small > 10
    assert too_large is not None and too_large < 0.1


def test_the_best_start_is_retried_with_the_learning_rate_no_finding_named() -> None:
    from advisor.fixes.deciding import SliceScores
    from advisor.fixes.search_step import search_fixes

    plan = make_plan(epochs=3)
    probe = fit_plan(plan, seed=0)
    step = search_fixes(plan, [SCALE], probe, seed=0, budget=3.0, run_fit=run, scores=SliceScores())
    assert step.result is not None
    tried = [dict(t.changes) for t in step.result.trials if t.state != "reused"]
    # First the finding's own fix alone, then that fix with the learning rate added.
    assert list(tried[0]) == ["standardize"]
    assert list(tried[1]) == ["standardize", "lower-lr"]
    assert step.result.epochs_spent <= step.result.budget_epochs == 9
