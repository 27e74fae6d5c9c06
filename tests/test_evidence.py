"""Evidence that adapts: seeds added while a large gain is undecided, cross-validation when a
tiny script has no row to spare (the export trains on every row), and the smallest fix that
holds (each change of a stacked best trial left out, the one that buys nothing dropped)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import keras
import numpy as np
import pytest

from advisor.capture.plan_builder import build_plan
from advisor.findings import Finding, Severity
from advisor.fixes import search_step
from advisor.fixes.evidence import MAX_SEEDS, Evidence, seeded_evidence
from advisor.fixes.search_step import WATCHES_VALIDATION
from advisor.fixes.selection import improve, refit_on_all_training_data
from advisor.outcomes.scores import Scores, Slice
from advisor.plan import TrainingPlan
from advisor.python_api import plan_request
from advisor.search import SearchResult, TrialRecord
from advisor.training.fit import FitOutcome, FitRequest, fit_plan, run
from tests.test_honest_selection import SCALE, X, make_plan, rendered

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float32")
XOR_Y = np.array([0, 1, 1, 0], dtype="float32")
OVERFITS = Finding(
    "overfitting",
    "ADV102",
    Severity.WARNING,
    "validation loss rises while training loss falls",
    fixes=("early-stopping", "l2"),
)


def xor_plan() -> TrainingPlan:
    """The bundled xor_four_rows.py (20 of its 100 epochs fit XOR already): four rows, all of
    them trained on, no validation."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(8, activation="tanh"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(keras.optimizers.Adam(0.1), loss="binary_crossentropy", metrics=["accuracy"])
    return build_plan(plan_request(model, (XOR_X, XOR_Y), epochs=20, batch_size=4))


def test_tiny_data_is_cross_validated_and_the_export_fits_every_row() -> None:
    plan = xor_plan()
    assert plan.data.cross_validates and len(plan.data.x_val) == 1
    probe = fit_plan(plan, seed=0)
    improvement = improve(plan, [OVERFITS], probe, seed=0, repeats=1, run_fit=run, budget=1.0)
    # Early stopping would watch rows the task needs (and that a fold is scored on).
    assert {s.fix: s.reason for s in improvement.skipped}["early-stopping"] == WATCHES_VALIDATION
    decision = improvement.decision
    assert decision is not None and decision.where == Slice.CROSS_VALIDATION
    assert decision.repeats == 4  # leave-one-out: each row scored by a model that never saw it
    assert improvement.result != "improved" and improvement.measured_on == "cross-validation"
    final = refit_on_all_training_data(improvement, seed=0, run_fit=run)
    assert final.final_fit is not None and final.final_fit.samples == 4
    predicted = np.asarray(final.model.predict(XOR_X, verbose=0)).reshape(4)
    assert np.array_equal(np.rint(predicted), XOR_Y)  # XOR fitted, as the user's own run does
    text = rendered(final)
    assert "leave-one-out" in text and "no untouched holdout" in text
    assert "on all 4 training samples" in text and "every row is trained on" in text
    assert final.to_dict()["verdict"]["measured_on"] == "cross-validation"


def scores(loss: float, per_sample: list[float]) -> Scores:
    return Scores(loss, {}, np.array(per_sample))


def evidence_from(losses: dict[tuple[str, int], float]) -> tuple[Evidence, list[int]]:
    """``seeded_evidence`` for standardize against the user's plan, first looked at on seed 0,
    with a runner whose "model" is its (plan, seed) label and a scorer reading ``losses``: the
    sequential logic under test is arithmetic on scores, not Keras. Returns the evidence and
    the seeds it trained beyond the first look."""
    plan = make_plan()
    fixed, _ = search_step.apply_fixes(plan, ("standardize",))
    seeds: list[int] = []

    def run_fit(request: FitRequest) -> FitOutcome:
        seeds.append(request.seed)
        kind = "fix" if request.plan.applied_fixes else "base"
        return FitOutcome((kind, request.seed), None, ())  # type: ignore[arg-type]

    def score(model: tuple[str, int], plan: TrainingPlan) -> Scores:
        loss = losses[model]
        return scores(loss, [loss * 0.5, loss * 1.5, loss * 0.2, loss * 1.8])

    evidence = seeded_evidence(
        plan,
        fixed,
        (("base", 0), ("fix", 0)),
        seed=0,
        seeds=1,
        run_fit=run_fit,
        score=score,
        where=Slice.SELECTION,
    )
    return evidence, seeds


@pytest.mark.parametrize(
    ("fixed_losses", "seeds_trained", "effect"),
    [
        # -40% on every seed: one seed's samples cannot decide, three seeds do.
        ([0.6, 0.61, 0.59, 0.6, 0.6], [1, 2], "improved"),
        # A large gain that stays noisy: seeds are added up to the cap, and it stays undecided.
        ([0.3, 1.4, 0.35, 1.3, 0.4], [1, 2, 3, 4], "within-noise"),
    ],
    ids=["decides-at-three-seeds", "capped-at-five"],
)
def test_a_large_undecided_gain_gets_more_seeds_up_to_the_cap(
    fixed_losses: list[float], seeds_trained: list[int], effect: str
) -> None:
    losses = {("base", s): 1.0 + 0.01 * s for s in range(MAX_SEEDS)}
    losses |= {("fix", s): loss for s, loss in enumerate(fixed_losses)}
    evidence, seeds = evidence_from(losses)
    assert sorted(set(seeds)) == seeds_trained
    assert evidence.decision.effect == effect
    assert len(evidence.fixed_models) == len(seeds_trained) + 1 <= MAX_SEEDS
    assert "sequential test" in evidence.sentence and f"at most {MAX_SEEDS}" in evidence.sentence
    assert "p < 0.025" in evidence.sentence  # the 0.05 level split across the two later looks


def test_a_clear_first_look_adds_no_seeds() -> None:
    for base_loss, fixed_loss, effect in ((1.0, 1.0, "within-noise"), (0.7, np.nan, "worse")):
        evidence, seeds = evidence_from({("base", 0): base_loss, ("fix", 0): fixed_loss})
        # No gain, or a fix that diverges where the user's plan does not: no extra seeds.
        assert evidence.decision.effect == effect and seeds == [] and evidence.sentence == ""


@pytest.mark.parametrize(
    ("base_losses", "fixed_losses", "effect"),
    [
        # The user's plan diverges on every seed: any finite loss beats it, on three seeds.
        ([np.inf, np.nan, np.inf], [0.7, 0.8, 0.75], "improved"),
        # dead_relu_high_lr: NaN on seed 0 only, at chance on the others, where the fix is worse.
        ([np.nan, 2.37, 2.38], [1.85, 3.39, 3.60], "within-noise"),
    ],
    ids=["diverges-everywhere", "diverges-once"],
)
def test_a_divergence_on_one_seed_is_checked_on_three(
    base_losses: list[float], fixed_losses: list[float], effect: str
) -> None:
    losses = {("base", s): loss for s, loss in enumerate(base_losses)}
    losses |= {("fix", s): loss for s, loss in enumerate(fixed_losses)}
    evidence, seeds = evidence_from(losses)
    assert sorted(set(seeds)) == [1, 2] and evidence.decision.repeats == 3
    assert evidence.decision.effect == effect
    assert "NaN/inf loss of your plan" in evidence.sentence


def test_a_stacked_change_that_buys_nothing_is_dropped_and_the_report_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The search's best trial stacks standardize (a large gain) with a clipnorm no gradient
    of this model reaches: leaving each out on the selection data keeps only standardize."""
    clip = Finding(
        "exploding", "ADV103", Severity.WARNING, "large gradients", fixes=("clip-gradients",)
    )
    stacked = {"standardize": {}, "clip-gradients": {"clipnorm": 1e4}}

    def stacked_search(space: Any, budget: Any, run_trial: Any, **kw: Any) -> SearchResult:
        outcome = run_trial(stacked, lambda epoch, loss: False)
        baseline = TrialRecord(0, {}, 0, kw["baseline"].loss, "reused")
        best = TrialRecord(1, stacked, outcome.epochs, outcome.loss, "complete")
        return SearchResult((baseline, best), best, baseline, outcome.epochs, budget.epochs, 1.0)

    monkeypatch.setattr(search_step, "search", stacked_search)
    plan = make_plan(epochs=4)
    probe = fit_plan(plan, seed=0)
    improvement = improve(plan, [SCALE, clip], probe, seed=0, repeats=1, run_fit=run)
    bought = {c.fix: c for c in improvement.contributions}
    assert bought["standardize"].kept and bought["standardize"].bought > 0
    assert not bought["clip-gradients"].kept and bought["clip-gradients"].bought == pytest.approx(
        0.0, abs=1e-3
    )
    assert improvement.applied == ("standardize",) and improvement.adopted == "fixed"
    assert improvement.search is not None and improvement.search.leave_one_out_trials == 2
    payload = improvement.to_dict()["contributions"]
    assert {(c["fix"], c["kept"]) for c in payload} == {
        ("standardize", True),
        ("clip-gradients", False),
    }
    text = rendered(improvement)
    assert "what each change bought" in text
    assert "standardize +" in text and "(kept)" in text and "(dropped)" in text


def test_the_export_is_the_chosen_trials_configuration() -> None:
    """Learning rate, layers and epochs of the model handed out are the chosen trial's (the
    user's epochs: the probe was shortened), trained on all the data the script gave."""
    plan = replace(make_plan(validation_split=0.0, epochs=3), user_epochs=5)
    probe = fit_plan(plan, seed=0)
    improvement = improve(plan, [SCALE], probe, seed=0, repeats=1, run_fit=run, budget=1.0)
    assert improvement.adopted == "fixed"
    trial = improvement.chosen_model
    trained: list[FitOutcome] = []

    def recording(request: FitRequest) -> FitOutcome:
        trained.append(run(request))
        return trained[-1]

    final = refit_on_all_training_data(improvement, seed=0, run_fit=recording)
    exported = final.model
    unnamed = {"name": None}
    assert exported.optimizer.get_config() | unnamed == trial.optimizer.get_config() | unnamed
    assert [type(layer).__name__ for layer in exported.layers] == [
        type(layer).__name__ for layer in trial.layers
    ]
    (outcome,) = trained
    assert final.final_fit is not None and final.final_fit.samples == len(X)
    assert outcome.history.n_epochs == final.final_fit.epochs == 5
