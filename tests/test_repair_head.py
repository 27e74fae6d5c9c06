"""The repair-head fix: which head the targets call for, and how the model is rewritten."""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Any

import keras
import numpy as np
import pytest
from rich.console import Console

from advisor.fix import Skipped
from advisor.fixes.builtin.repair_head import FIX, head_for_targets
from advisor.fixes.candidates import scoring_loss
from advisor.keras_model.inspect import model_kind, normalizes_inputs
from advisor.outcomes.improvement import Candidate, Improvement
from advisor.plan import ModelRecipe, TrainingPlan
from advisor.plan_edits import ReplaceHead
from advisor.report.fixes import render_improvement
from advisor.task import plan_task
from advisor.training.rebuild import fresh_model
from tests.test_fixes import make_plan


def HeadSpec(activation: str, units: int | None = None, loss: str | None = None) -> ReplaceHead:
    """The edit the repair-head fix makes."""
    return ReplaceHead("repair-head", activation, units, loss)


def repair_head(plan: TrainingPlan) -> TrainingPlan | Skipped:
    return FIX.applied(plan)


LABELS_01 = np.array([0, 1, 1, 0, 1])
LABELS_012 = np.array([0, 1, 2, 2, 1])
ONE_HOT = np.eye(3)[LABELS_012]
MULTI_HOT = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])


@pytest.mark.parametrize(
    ("loss", "y", "expected"),
    [
        ("mse", np.array([25.0, 346.0]), HeadSpec("linear")),
        ("mean_absolute_error", LABELS_012, HeadSpec("linear")),
        ("binary_crossentropy", LABELS_01, HeadSpec("sigmoid", 1, None)),
        (
            "binary_crossentropy",
            LABELS_012,
            HeadSpec("softmax", 3, "sparse_categorical_crossentropy"),
        ),
        ("sparse_categorical_crossentropy", LABELS_01, HeadSpec("softmax", 2, None)),
        (
            "sparse_categorical_crossentropy",
            ONE_HOT,
            HeadSpec("softmax", 3, "categorical_crossentropy"),
        ),
        (
            "categorical_crossentropy",
            LABELS_012,
            HeadSpec("softmax", 3, "sparse_categorical_crossentropy"),
        ),
        (
            keras.losses.BinaryCrossentropy(from_logits=True),
            LABELS_01,
            HeadSpec("sigmoid", 1, "binary_crossentropy"),
        ),
        ("categorical_crossentropy", MULTI_HOT, HeadSpec("sigmoid", 3, "binary_crossentropy")),
        ("binary_crossentropy", MULTI_HOT, HeadSpec("sigmoid", 3, None)),
    ],
)
def test_the_head_follows_the_loss_and_the_labels(
    loss: Any, y: np.ndarray, expected: ReplaceHead
) -> None:
    assert head_for_targets(loss, y) == expected


@pytest.mark.parametrize(
    ("loss", "y", "reason"),
    [
        ("binary_crossentropy", np.array([0.2, 0.7]), "neither class indices"),
        ("sparse_categorical_crossentropy", np.array([-1, 0, 1]), "neither class indices"),
        ("poisson", LABELS_01, "not one whose output layer"),
    ],
)
def test_a_classification_head_is_repaired_only_when_the_labels_say_how(
    loss: str, y: np.ndarray, reason: str
) -> None:
    plan = make_plan(compile=replace(make_plan().compile, loss=loss))
    plan = replace(plan, data=replace(plan.data, y_train=y))
    result = repair_head(plan)
    assert isinstance(result, Skipped) and reason in result.reason


@pytest.mark.parametrize(
    ("head", "metrics", "y", "expected"),
    [
        ("relu", ("accuracy",), LABELS_01, HeadSpec("sigmoid", 1, "binary_crossentropy")),
        ("softmax", (), LABELS_01, HeadSpec("sigmoid", 1, "binary_crossentropy")),
        (
            "linear",
            ("accuracy",),
            LABELS_012,
            HeadSpec("softmax", 3, "sparse_categorical_crossentropy"),
        ),
        ("linear", ("accuracy",), ONE_HOT, HeadSpec("softmax", 3, "categorical_crossentropy")),
        ("linear", ("mae",), LABELS_012, HeadSpec("linear")),  # a regression: left alone
    ],
)
def test_a_regression_loss_on_labels_gets_the_classification_head_and_loss(
    head: str, metrics: tuple[str, ...], y: np.ndarray, expected: ReplaceHead
) -> None:
    plan = make_plan(compile=replace(make_plan().compile, loss="mse", metrics=metrics))
    plan = replace(
        plan,
        model=replace(plan.model, output_activation=head),
        data=replace(plan.data, y_train=y),
    )
    repaired = repair_head(plan)
    assert not isinstance(repaired, Skipped)
    assert repaired.edits_of(ReplaceHead) == (expected,)
    # The task and the yardstick follow the labels, for the baseline and the fix alike.
    classes = None if expected.loss is None else (2 if y is LABELS_01 else 3)
    assert plan_task(plan).n_classes == classes
    assert scoring_loss([repaired], plan.compile.loss) == (expected.loss or "mse")


def test_subclassed_heads_are_not_rewritten() -> None:
    assert isinstance(repair_head(make_plan("subclassed")), Skipped)


def test_baseline_and_fix_are_scored_with_the_repaired_loss_when_it_changes() -> None:
    plan = make_plan()
    repaired = plan.with_edits(HeadSpec("softmax", 3, "sparse_categorical_crossentropy"))
    assert scoring_loss([repaired], plan.compile.loss) == "sparse_categorical_crossentropy"
    assert scoring_loss([plan.with_edits(HeadSpec("linear"))], "mse") == "mse"


def _rebuilt(model: keras.Model, head: ReplaceHead) -> keras.Model:
    recipe = ModelRecipe(model_kind(model), model, normalizes_inputs(model))
    return fresh_model(recipe, (head,)).model


def test_sequential_one_unit_softmax_becomes_a_sigmoid() -> None:
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(1, "softmax")]
    )
    new = _rebuilt(model, HeadSpec("sigmoid", 1))
    predictions = np.asarray(new.predict(np.random.default_rng(0).normal(size=(16, 4)), verbose=0))
    assert new.layers[-1].get_config()["activation"] == "sigmoid"
    assert model.layers[-1].get_config()["activation"] == "softmax"  # the user's model is untouched
    assert ((predictions > 0) & (predictions < 1)).all() and predictions.std() > 0


def test_functional_head_with_a_separate_softmax_layer_gets_new_units() -> None:
    inputs = keras.Input((4,))
    outputs = keras.layers.Softmax()(keras.layers.Dense(2)(keras.layers.Dense(3)(inputs)))
    new = _rebuilt(keras.Model(inputs, outputs), HeadSpec("softmax", 3))
    assert new.output_shape == (None, 3)
    probabilities = np.asarray(new.predict(np.ones((2, 4)), verbose=0))
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def _report_text(plan: TrainingPlan, candidates: tuple[Candidate, ...]) -> str:
    improvement = Improvement(
        baseline_plan=plan,
        chosen_plan=plan,
        chosen_model=None,
        adopted="baseline",
        skipped=(),
        candidates=candidates,
        baseline_selection_loss=6.5,
        decision=None,
        holdout=None,
        kept_holdout={"loss": 6.5},
        result="not-adopted",
        reason="kept",
    )
    console = Console(file=io.StringIO(), width=200)
    console.print(render_improvement(improvement))
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_the_report_names_the_regression_loss_on_labels_as_the_fault_it_did_not_judge_by() -> None:
    plan = make_plan(compile=replace(make_plan().compile, loss="mae", metrics=("accuracy",)))
    plan = replace(plan, data=replace(plan.data, y_train=LABELS_01))
    text = _report_text(plan, (Candidate(("repair-head",), 0.2),))
    assert "loss = binary_crossentropy on predictions clipped" in text
    assert "Your compiled loss mae is a fault (ADV302 loss-targets)" in text
    # A regression, or a run where the repair was not tried, is scored with its own loss.
    assert "is a fault" not in _report_text(plan, (Candidate(("lower-lr",), 0.2),))
    regression = replace(plan, compile=replace(plan.compile, metrics=("mae",)))
    assert "is a fault" not in _report_text(regression, (Candidate(("repair-head",), 0.2),))


def test_a_classification_loss_on_measurements_gets_a_linear_head_and_mse() -> None:
    from sklearn.datasets import load_diabetes

    scores = load_diabetes().target  # whole numbers 25..346, 214 distinct
    for loss in ("binary_crossentropy", "sparse_categorical_crossentropy"):
        assert head_for_targets(loss, scores) == ReplaceHead("repair-head", "linear", loss="mse")
    # Probabilities (soft targets) and a few whole numbers are no measurements to regress on.
    assert isinstance(head_for_targets("binary_crossentropy", np.array([0.2, 0.7])), str)
    small_counts = np.array([-1, 0, 1, 1])
    assert isinstance(head_for_targets("sparse_categorical_crossentropy", small_counts), str)
