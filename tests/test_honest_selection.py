"""Selection decides, the holdout only reports: disjoint slices, and decisions blind to the
holdout; a fix that is not adopted is neither shown as what you get nor offered as code."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import keras
import numpy as np
import pytest
from rich.console import Console

from advisor.capture.plan_builder import build_plan
from advisor.findings import Finding, Severity
from advisor.fixes.apply import apply_fixes
from advisor.fixes.selection import improve, refit_on_all_training_data
from advisor.outcomes.improvement import Improvement
from advisor.outcomes.scores import Slice
from advisor.plan import TrainingPlan
from advisor.plan_edits import ScaleLearningRate
from advisor.python_api import plan_request
from advisor.report.fixes import render_improvement
from advisor.training.fit import FitOutcome, FitRequest, fit_plan

RNG = np.random.default_rng(3)
# Two informative features, one on a scale of hundreds: standardising is a real, large gain.
X = np.column_stack([RNG.normal(0, 1, 240), RNG.normal(500, 200, 240)]).astype("float32")
Y = ((X[:, 0] + (X[:, 1] - 500) / 200) > 0).astype("float32")
SCALE = Finding(
    "scale-imbalance",
    "ADV201",
    Severity.WARNING,
    "inputs on very different scales",
    fixes=("standardize",),
)


def make_plan(validation_split: float = 0.25, epochs: int = 4) -> TrainingPlan:
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"]
    )
    request = plan_request(model, (X, Y), validation_split=validation_split, epochs=epochs)
    return build_plan(request)


def rows(x: np.ndarray) -> set[tuple[float, ...]]:
    return {tuple(row) for row in np.asarray(x).tolist()}


@pytest.mark.parametrize("validation_split", [0.25, 0.0], ids=["user-validation", "advisor-carved"])
def test_training_validation_selection_and_report_slices_are_disjoint(
    validation_split: float,
) -> None:
    data = make_plan(validation_split).data
    slices = [data.x_train, data.x_val, data.x_select, data.x_holdout]
    assert all(len(s) >= 5 for s in slices)
    seen: set[tuple[float, ...]] = set()
    for part in slices:
        assert not rows(part) & seen
        seen |= rows(part)
    assert seen == rows(X)  # nothing lost either
    assert len(data.x_select) == len(data.x_holdout)


def test_the_holdout_never_reaches_a_decision() -> None:
    plan = make_plan()
    probe = fit_plan(plan, seed=0)
    fits: dict[tuple[str, ...], FitOutcome] = {}

    def fit_once(request: FitRequest) -> FitOutcome:
        # No fit reads the holdout, so the candidate trained for one run serves the other.
        plan = request.plan
        if plan.applied_fixes not in fits:
            fits[plan.applied_fixes] = fit_plan(plan, seed=request.seed)
        return fits[plan.applied_fixes]

    honest = improve(plan, [SCALE], probe, seed=0, repeats=1, run_fit=fit_once)
    # Same run, but every holdout label flipped: only the reported numbers may change.
    flipped = replace(plan, data=replace(plan.data, y_holdout=1 - plan.data.y_holdout))
    tampered = improve(flipped, [SCALE], probe, seed=0, repeats=1, run_fit=fit_once)
    assert honest.adopted == tampered.adopted == "fixed"
    assert honest.applied == tampered.applied == ("standardize",)
    assert honest.decision is not None and tampered.decision is not None
    assert honest.decision.loss == tampered.decision.loss
    assert honest.candidates == tampered.candidates
    assert honest.holdout is not None and tampered.holdout is not None
    assert honest.holdout.loss.fixed != tampered.holdout.loss.fixed
    assert honest.result == "improved"
    # Neither plan watches validation: the pooled selection data decided.
    assert honest.decision.where == Slice.SELECTION == honest.searched_on


@pytest.mark.parametrize(
    ("fix", "decides"),
    [("early-stopping", Slice.SELECTION_ALONE), ("standardize", Slice.SELECTION)],
)
def test_a_candidate_that_watches_validation_is_decided_without_it(
    fix: str, decides: Slice
) -> None:
    """Early stopping chose its epoch on validation, so validation would flatter it: the
    decision (and the search's scores) leave validation out, and say so; a candidate that does
    not watch validation keeps the pooled selection data."""
    plan = make_plan()
    probe = fit_plan(plan, seed=0)
    finding = Finding("overfitting", "ADV301", Severity.WARNING, "gap", fixes=(fix,))
    # Every fit is the probe, so only the scoring sees the validation labels flipped below.
    flipped = replace(plan, data=replace(plan.data, y_val=1 - plan.data.y_val))
    seen = [
        improve(p, [finding], probe, seed=0, repeats=1, run_fit=identical_runs(probe))
        for p in (plan, flipped)
    ]
    assert [i.decision.where if i.decision else None for i in seen] == [decides, decides]
    assert seen[0].searched_on == decides
    assert seen[0].to_dict()["decision"]["measured_on"] == decides.value
    assert f"loss on the {decides}" in rendered(seen[0])
    same_numbers = seen[0].baseline_selection_loss == seen[1].baseline_selection_loss
    assert same_numbers == (decides == Slice.SELECTION_ALONE)


def identical_runs(probe: FitOutcome) -> Any:
    """A runner whose every "fix" is the baseline run itself: a fix that buys exactly nothing."""
    return lambda request: probe


def test_a_fix_that_buys_nothing_is_not_adopted_shown_or_offered() -> None:
    plan = make_plan()
    probe = fit_plan(plan, seed=0)
    stall = Finding(
        "stalled",
        "ADV105",
        Severity.WARNING,
        "loss stuck at chance level",
        evidence={"likely_cause": "the output layer's activation cannot reach the targets"},
        fixes=("lower-lr",),
    )
    improvement = improve(plan, [stall], probe, seed=0, repeats=1, run_fit=identical_runs(probe))
    assert improvement.adopted == "baseline" and improvement.result == "not-adopted"
    assert improvement.applied == () and improvement.holdout is None
    payload = improvement.to_dict()
    assert payload["fixed"] == {} and payload["verdict"]["result"] == "not-adopted"
    text = rendered(improvement)
    assert "your plan (kept)" in text and "with the fix" not in text
    assert "To apply" not in text and "not adopted" in text
    assert "ADV105 stalled: its fixes tried (lower-lr) were not adopted" in text
    assert "the output layer's activation cannot reach the targets" in text


def rendered(improvement: Improvement) -> str:
    console = Console(width=200, record=True, file=None, force_terminal=False)
    with console.capture() as capture:
        console.print(render_improvement(improvement))
    return capture.get()


def export_fits(improvement: Improvement) -> tuple[list[TrainingPlan], Improvement]:
    """The plans the export trains (recorded as each fit runs) and the refitted improvement."""
    fits: list[TrainingPlan] = []

    def recording(request: FitRequest) -> FitOutcome:
        fits.append(request.plan)
        return fit_plan(request.plan, seed=request.seed)

    return fits, refit_on_all_training_data(improvement, seed=0, run_fit=recording)


def test_the_final_fit_uses_the_users_epochs_and_all_the_data() -> None:
    plan = replace(make_plan(validation_split=0.0, epochs=3), user_epochs=5)
    probe = fit_plan(plan, seed=0)
    improvement = improve(plan, [SCALE], probe, seed=0, repeats=1, run_fit=identical_runs(probe))
    fits: list[TrainingPlan] = []

    def recording(request: FitRequest) -> FitOutcome:
        fits.append(request.plan)
        return fit_plan(request.plan, seed=request.seed)

    final = refit_on_all_training_data(improvement, seed=0, run_fit=recording)
    assert fits[0].epochs == 5 and len(fits[0].data.x_train) == len(X)
    assert final.final_fit is not None and final.final_fit.measured_epochs == 3
    assert "for your 5 epochs (the measured fits ran 3)" in rendered(final)


@pytest.mark.parametrize("shuffled", [False, True], ids=["in-order", "shuffle-split"])
def test_a_validation_split_export_trains_and_validates_on_the_scripts_own_rows(
    shuffled: bool,
) -> None:
    """The advisor's fits carve selection and holdout rows out of all the script's rows (some
    of its validation rows among them); the export trains on the rows the script's own fit
    trains on, as the patched script will, and validates on the rest (shuffled first, as the
    shuffle-split patch does, when that fix was chosen)."""
    plan = make_plan(validation_split=0.25, epochs=2)
    probe = fit_plan(plan, seed=0)
    improvement = improve(plan, [SCALE], probe, seed=0, repeats=1, run_fit=identical_runs(probe))
    if shuffled:
        chosen, _ = apply_fixes(plan, ("shuffle-split",))
        improvement = replace(improvement, chosen_plan=chosen, adopted="fixed")
    fits, final = export_fits(improvement)
    order = np.random.default_rng(0).permutation(len(X)) if shuffled else np.arange(len(X))
    cut = int(len(X) * 0.75)  # Keras' validation_split: the last quarter validates
    assert np.array_equal(fits[0].data.x_train, X[order[:cut]])
    assert np.array_equal(fits[0].data.x_val, X[order[cut:]])
    assert final.final_fit is not None and final.final_fit.samples == cut
    assert "your validation_split validates" in final.final_fit.validation


def test_an_export_whose_own_training_diverges_is_not_handed_out_as_the_measured_plan() -> None:
    """The measured seeds trained the chosen plan; the export's seed may not (a learning rate
    found at the edge of stability): the report says its training diverged, and where."""
    plan = make_plan(validation_split=0.25, epochs=2)
    probe = fit_plan(plan, seed=0)
    improvement = improve(plan, [SCALE], probe, seed=0, repeats=1, run_fit=identical_runs(probe))
    unstable = plan.with_edits(ScaleLearningRate("lower-lr", factor=1e37))
    _, final = export_fits(replace(improvement, chosen_plan=unstable, adopted="fixed"))
    assert final.final_fit is not None and final.final_fit.diverged_at == 1
    words = " ".join(rendered(final).split())
    assert "Its training diverged (loss NaN/inf at epoch 1)" in words, words
    assert final.to_dict()["final_fit"]["diverged_at_epoch"] == 1
    # The measured plan, retrained at the user's settings, trains: nothing to say there.
    _, healthy = export_fits(improvement)
    assert healthy.final_fit is not None and healthy.final_fit.diverged_at is None
    assert "diverged" not in rendered(healthy)


def test_a_fix_the_holdout_finds_worse_is_handed_out_with_a_caution() -> None:
    """The holdout decides nothing, so the selection data's choice stands; but wherever it is
    handed out, the user is told that the untouched holdout found it worse."""
    plan = make_plan(validation_split=0.25, epochs=2)
    probe = fit_plan(plan, seed=0)
    improvement = improve(plan, [SCALE], probe, seed=0, repeats=1, run_fit=identical_runs(probe))
    chosen, _ = apply_fixes(plan, ("standardize",))
    worse = replace(improvement, chosen_plan=chosen, adopted="fixed", result="worse")
    words = " ".join(rendered(worse).split())
    assert "caution: the holdout, which decided nothing, says this fix is worse" in words, words
    assert "caution" not in rendered(replace(worse, result="improved"))
