"""Nothing trained or scored twice: when the export's fit would be the chosen plan's measured
fit (no slice carved out of training, the same epochs, the same seed) that model is handed
out, and it is retrained when it trains on more rows or for more epochs; the decision reads
the search's scores of a model instead of scoring it again."""

from __future__ import annotations

from dataclasses import replace

import keras

from advisor.fixes.deciding import SliceScores
from advisor.fixes.selection import improve, refit_on_all_training_data
from advisor.outcomes.improvement import Improvement
from advisor.outcomes.scores import Slice
from advisor.plan import TrainingPlan
from advisor.training.fit import FitOutcome, FitRequest, fit_plan, run
from tests.test_honest_selection import SCALE, make_plan


def without_holdout(plan: TrainingPlan) -> TrainingPlan:
    """``plan`` as for data too small to hold rows out: the user's validation decides and
    every training row is trained on already."""
    data = plan.data
    empty = (data.x_train[:0], data.y_train[:0])
    data = replace(
        data, x_select=empty[0], y_select=empty[1], x_holdout=empty[0], y_holdout=empty[1],
        script_rows=None,  # nothing was carved out of the script's rows
    )
    return replace(plan, data=data)


def exported(plan: TrainingPlan) -> tuple[Improvement, Improvement, list[FitRequest]]:
    probe = fit_plan(plan, seed=0)
    improvement = improve(plan, [SCALE], probe, seed=0, repeats=1, run_fit=run, budget=1.0)
    requests: list[FitRequest] = []

    def recording(request: FitRequest) -> FitOutcome:
        requests.append(request)
        return run(request)

    return improvement, refit_on_all_training_data(improvement, seed=0, run_fit=recording), requests


def test_the_export_is_the_chosen_trials_model_when_its_fit_was_the_exports() -> None:
    plan = without_holdout(make_plan(validation_split=0.25, epochs=3))
    assert not plan.data.has_holdout and plan.data.validation_source == "validation_split"
    improvement, final, requests = exported(plan)
    assert requests == []  # nothing trained again
    assert final.model is improvement.chosen_model
    assert final.final_fit is not None and not final.final_fit.retrained
    assert final.final_fit.samples == len(plan.data.x_train)
    assert final.final_fit.epochs == 3
    assert "not retrained" in final.final_fit.sentence(final.adopted)


def test_the_export_is_retrained_when_it_trains_longer() -> None:
    """(On more rows, the selection and holdout slices back in, it is retrained too: see
    test_evidence's test_the_export_is_the_chosen_trials_configuration.)"""
    # The user's 5 epochs, of which the measured fits ran 3: the export trains longer.
    longer = replace(without_holdout(make_plan(validation_split=0.25, epochs=3)), user_epochs=5)
    improvement, final, requests = exported(longer)
    (request,) = requests
    assert request.plan.fit_epochs == 5 and final.model is not improvement.chosen_model
    assert final.final_fit is not None and final.final_fit.retrained
    assert "retrained for your 5 epochs" in final.final_fit.sentence(final.adopted)


def test_a_model_is_scored_once_per_slice_and_loss() -> None:
    plan = make_plan(epochs=1)
    scores = SliceScores()
    model = fit_plan(plan, seed=0).model
    first = scores(model, plan, Slice.SELECTION, "binary_crossentropy")
    assert scores(model, plan, Slice.SELECTION, "binary_crossentropy") is first
    holdout = scores(model, plan, Slice.HOLDOUT, "binary_crossentropy")
    assert holdout is not first and holdout.loss != first.loss
    assert scores(model, plan, Slice.SELECTION, "mse") is not first  # another loss: anew
    other = keras.models.clone_model(model)  # another model: scored anew
    other.compile(loss="binary_crossentropy", metrics=["accuracy"])
    assert scores(other, plan, Slice.SELECTION, "binary_crossentropy") is not first
