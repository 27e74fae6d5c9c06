"""The rules that read each output head and the validation slice, as a user meets them.

Validation that is not drawn like training (the sorted-rows trap of ``validation_split``), a
classifier that predicts only the majority class, inputs far from zero relative to their
spread, and multi-output models judged head by head. Histories are real Keras runs recorded by
fixtures/record_head_rules.py; data statistics come from scikit-learn's datasets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn import datasets

from advisor.arrays import rows
from advisor.capture.data_profile import profile
from advisor.engine import run_rules
from advisor.findings import FIX_IDS, Finding
from advisor.history import history_from_logs, load_history
from advisor.rule import RuleContext
from rules import majority_class, scale_imbalance, target_scale, validation_shift
from tests.conftest import FIXTURES

HEADS = FIXTURES / "histories" / "heads"
HEAD_RECORDS = sorted(HEADS.glob("*.json"))
SHORT = history_from_logs({"loss": [1.0, 0.5], "val_loss": [1.1, 0.6]}, source="probe")


def shift_findings(
    x: np.ndarray, y: np.ndarray, cut: int, source: str = "validation_split"
) -> list[Finding]:
    """validation-shift's findings when the first ``cut`` rows train and the rest validate."""
    data = profile(
        x[:cut], y[:cut], model_normalizes_inputs=False, y_val=y[cut:], validation_source=source
    )
    return validation_shift.check(SHORT, RuleContext(data=data))


def shuffled(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(len(y))
    return x[order], y[order]


# ---- validation-shift ------------------------------------------------------------------------


def test_validation_split_on_wine_rows_sorted_by_class_triggers() -> None:
    x, y = datasets.load_wine(return_X_y=True)
    (finding,) = shift_findings(x, y, int(len(y) * 0.75))
    assert finding.code == "ADV204" and finding.fixes == ("shuffle-split",)
    assert finding.evidence["test"] == "chi-square"
    assert finding.evidence["val_shares"]["2"] == 1.0
    assert "are the rows sorted?" in finding.message


@pytest.mark.parametrize("seed", range(5))
def test_a_random_split_of_wine_does_not_trigger(seed: int) -> None:
    x, y = shuffled(*datasets.load_wine(return_X_y=True), seed)
    assert shift_findings(x, y, int(len(y) * 0.75)) == []


def test_regression_rows_sorted_by_target_trigger_the_range_test() -> None:
    x, y = datasets.load_diabetes(return_X_y=True)
    order = np.argsort(y)
    (finding,) = shift_findings(x[order], y[order].astype("float32"), int(len(y) * 0.8))
    assert finding.evidence["test"] == "kolmogorov-smirnov"
    assert finding.evidence["effect"] > 0.9


@pytest.mark.parametrize("seed", range(5))
def test_a_random_split_of_diabetes_does_not_trigger(seed: int) -> None:
    x, y = shuffled(*datasets.load_diabetes(return_X_y=True), seed)
    assert shift_findings(x, y.astype("float32"), int(len(y) * 0.8)) == []


def test_the_users_own_validation_data_is_named_without_a_fix() -> None:
    x, y = datasets.load_wine(return_X_y=True)
    (finding,) = shift_findings(x, y, int(len(y) * 0.75), source="validation_data")
    assert finding.fixes == () and "validation_data" in finding.message


def input_shift_findings(x_train: np.ndarray, x_val: np.ndarray) -> list[Finding]:
    """validation-shift's findings on the users' own validation inputs ``x_val`` (targets
    drawn alike, so only the inputs can differ)."""
    n_train, n_val = rows(x_train), rows(x_val)
    y = np.zeros(n_train + n_val, dtype="int64")
    data = profile(
        x_train, y[:n_train], model_normalizes_inputs=False, y_val=y[n_train:],
        x_val=x_val, validation_source="validation_data",
    )  # fmt: skip
    return validation_shift.check(SHORT, RuleContext(data=data))


def test_validation_pixels_left_unscaled_trigger_with_their_scale_ratio() -> None:
    x, _ = datasets.load_digits(return_X_y=True)
    (finding,) = input_shift_findings(x[:1200] / 16.0, x[1200:])
    assert finding.code == "ADV204" and finding.fixes == ()
    assert 14 < float(finding.evidence["spread_ratio"]) < 18  # type: ignore[arg-type]
    assert "not on the training inputs' scale" in finding.message


def test_standardised_validation_against_raw_training_triggers_the_other_way() -> None:
    x, _ = datasets.load_wine(return_X_y=True)
    standardised = (x - x.mean(axis=0)) / x.std(axis=0)
    (finding,) = input_shift_findings(x[:130], standardised[130:])
    assert float(finding.evidence["mean_shift"]) > 3  # type: ignore[arg-type]
    assert "standard deviations" in finding.message


def test_validation_scaled_while_training_is_raw_triggers_with_a_narrow_spread() -> None:
    x, _ = datasets.load_digits(return_X_y=True)
    (finding,) = input_shift_findings(x[:1200], x[1200:] / 16.0)
    assert float(finding.evidence["spread_ratio"]) < 0.25  # type: ignore[arg-type]
    assert "spread is 1/1" in finding.message


@pytest.mark.parametrize("seed", range(5))
def test_validation_preprocessed_like_training_does_not_trigger(seed: int) -> None:
    x, _ = shuffled(*datasets.load_digits(return_X_y=True), seed)
    assert input_shift_findings(x[:1400] / 16.0, x[1400:] / 16.0) == []
    assert input_shift_findings(x[:20] / 16.0, x[20:26] / 16.0) == []  # a tiny validation too
    # Too few validation samples to say anything (one sample has no spread at all).
    assert input_shift_findings(x[:20] / 16.0, x[20:24]) == []
    assert input_shift_findings(x[:20] / 16.0, x[20:21]) == []


def test_named_inputs_are_compared_by_name_whatever_the_order_of_the_validation_dict() -> None:
    x, _ = datasets.load_wine(return_X_y=True)
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    train = {"chemistry": x[:130, :6], "colour": x[:130, 6:] * 100}
    same = {"colour": x[130:, 6:] * 100, "chemistry": x[130:, :6]}
    assert input_shift_findings(train, same) == []  # type: ignore[arg-type]
    unscaled_colour = {"colour": x[130:, 6:], "chemistry": x[130:, :6]}
    assert len(input_shift_findings(train, unscaled_colour)) == 1  # type: ignore[arg-type]


def test_without_a_validation_slice_of_the_script_the_rule_is_silent() -> None:
    x, y = datasets.load_wine(return_X_y=True)
    data = profile(x, y, model_normalizes_inputs=False)
    assert validation_shift.check(SHORT, RuleContext(data=data)) == []


# ---- majority-class (recorded runs) ---------------------------------------------------------


def record(name: str) -> dict[str, Any]:
    return json.loads((HEADS / f"{name}.json").read_text())  # type: ignore[no-any-return]


def head_labels(y: dict[str, list[int]]) -> Any:
    """Labels with the recorded class counts, as arrays (a single head when the name is "")."""
    arrays = {name: np.repeat(np.arange(len(c)), c) for name, c in y.items()}
    return arrays.get("", arrays)


def judged(name: str) -> list[Finding]:
    """The whole catalogue's findings on a recorded run, with its training labels' counts."""
    run = record(name)
    counts = run["meta"]["train_counts"]
    rows = sum(next(iter(counts.values())))
    data = profile(np.zeros((rows, 1)), head_labels(counts), model_normalizes_inputs=True)
    history = history_from_logs(run["history"], source=name)
    return run_rules(history, RuleContext(data=data))


def test_a_net_that_answers_the_majority_class_for_every_sample_triggers() -> None:
    (finding,) = [f for f in judged("majority-class-sgd") if f.rule == "majority-class"]
    assert finding.code == "ADV205" and finding.fixes == ("class-weight",)
    assert finding.evidence["majority_class"] == 0
    assert abs(finding.evidence["accuracy_last"] - finding.evidence["majority_share"]) < 0.01


def test_the_same_net_with_class_weights_does_not_trigger() -> None:
    assert [f for f in judged("majority-class-weighted") if f.rule == "majority-class"] == []


def test_balanced_classes_at_chance_are_named_without_class_weights() -> None:
    history = history_from_logs(
        {"loss": [0.70, 0.69, 0.69, 0.69], "accuracy": [0.5, 0.5, 0.5, 0.5]}, source="h"
    )
    data = profile(np.zeros((200, 1)), np.repeat([0, 1], 100), model_normalizes_inputs=True)
    (finding,) = majority_class.check(history, RuleContext(data=data))
    assert finding.fixes == () and "chance" in finding.message


def test_a_learning_classifier_is_not_flagged() -> None:
    history = history_from_logs(
        {"loss": [0.6, 0.4, 0.3, 0.2], "accuracy": [0.7, 0.8, 0.9, 0.95]}, source="h"
    )
    data = profile(np.zeros((200, 1)), np.repeat([0, 1], [140, 60]), model_normalizes_inputs=True)
    assert majority_class.check(history, RuleContext(data=data)) == []


# ---- scale-imbalance: inputs far from zero --------------------------------------------------


def test_features_all_in_65_to_70_trigger_on_their_offset_alone() -> None:
    x = np.random.default_rng(0).uniform(65.0, 70.0, (450, 3))
    data = profile(x, np.zeros(450), model_normalizes_inputs=False)
    (finding,) = scale_imbalance.check(SHORT, RuleContext(data=data))
    assert finding.evidence["offset_ratio"] >= scale_imbalance.MAX_OFFSET_RATIO
    assert finding.evidence["spread_ratio"] < scale_imbalance.MAX_SPREAD_RATIO
    assert finding.evidence["largest_magnitude"] < scale_imbalance.MAX_MAGNITUDE
    assert "standard deviations away from zero" in finding.message


def test_iris_measurements_are_not_far_enough_from_zero_to_trigger() -> None:
    x, y = datasets.load_iris(return_X_y=True)
    data = profile(x, y, model_normalizes_inputs=False)
    assert scale_imbalance.check(SHORT, RuleContext(data=data)) == []


# ---- multi-output models, head by head -------------------------------------------------------


@pytest.mark.parametrize("path", HEAD_RECORDS, ids=[p.stem for p in HEAD_RECORDS])
def test_recorded_run_names_its_head(path: Path) -> None:
    run = json.loads(path.read_text())
    history = history_from_logs(run["history"], source=path.name)
    found = {(f.rule, f.evidence.get("head")) for f in run_rules(history, RuleContext())}
    for label in run["labels"]:
        if "head" in label:
            assert (label["rule"], label["head"]) in found


def test_a_head_that_overfits_is_named_with_its_own_monitor() -> None:
    history = history_from_logs(record("two-heads-digit-overfits")["history"], source="h")
    (finding,) = [
        f
        for f in run_rules(history, RuleContext())
        if f.evidence.get("head") == "digit" and f.rule == "overfitting"
    ]
    assert finding.evidence["monitor"] == "val_digit_loss"
    assert finding.message.startswith("head 'digit': val_digit_loss bottomed out")
    assert set(finding.fixes) <= set(FIX_IDS)


def test_a_healthy_two_head_run_has_no_findings() -> None:
    history = history_from_logs(record("two-heads-healthy")["history"], source="h")
    assert run_rules(history, RuleContext()) == []


def test_single_output_findings_carry_no_head() -> None:
    history = load_history(FIXTURES / "histories" / "demo_overfitting.json")
    (finding,) = run_rules(history, RuleContext())
    assert finding.rule == "overfitting" and "head" not in finding.evidence
    assert finding.evidence["monitor"] == "val_loss"


def test_one_custom_loss_named_metric_is_not_taken_for_a_head() -> None:
    rising = [1.0, 0.8, 0.7, 0.75, 0.85, 0.95, 1.05, 1.15, 1.25, 1.35]
    falling = [1.0 - 0.08 * i for i in range(10)]
    logs = {"loss": falling, "val_loss": falling, "task_loss": falling, "val_task_loss": rising}
    found = run_rules(history_from_logs(logs, source="h"), RuleContext())
    assert all("head" not in f.evidence for f in found)


def test_a_regression_head_with_raw_targets_in_the_hundreds_gets_target_scale() -> None:
    x, y = datasets.load_diabetes(return_X_y=True)
    heads = {"progression": y.astype("float32"), "high": (y > 140).astype("float32")}
    data = profile(x, heads, model_normalizes_inputs=False)
    (finding,) = target_scale.check(SHORT, RuleContext(data=data))
    assert finding.evidence["head"] == "progression" and finding.fixes == ("scale-target",)
    assert finding.message.startswith("head 'progression': ")


def test_heads_given_as_a_list_are_named_by_the_models_outputs() -> None:
    x, y = datasets.load_diabetes(return_X_y=True)
    data = profile(
        x,
        [y.astype("float32"), y.astype("float32") / 100],
        model_normalizes_inputs=False,
        output_names=("raw", "scaled"),
    )
    assert [f.evidence["head"] for f in target_scale.check(SHORT, RuleContext(data=data))] == [
        "raw"
    ]
