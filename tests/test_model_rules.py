"""The model rules on real Keras models and real targets: what must trigger them, what must not.

Each case compiles a real model as a user would and reads it the way `advisor diagnose` does
(plan, then :func:`advisor.capture.model_profile.profile`); no training is needed, so these
rules also judge models whose training would crash or take long.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import pytest
from sklearn import datasets

from advisor.capture.model_profile import profile
from advisor.capture.plan_builder import build_plan
from advisor.engine import run_rules
from advisor.findings import Finding
from advisor.history import history_from_logs
from advisor.model_facts import ModelProfile, constant_loss
from advisor.python_api import plan_request
from advisor.registry import load_catalogue
from advisor.rule import RuleContext

HISTORY = history_from_logs({"loss": [1.0, 0.5], "val_loss": [1.1, 0.6]}, source="probe")
MODEL_RULES = ("output-activation", "loss-targets", "from-logits")

Data = tuple[np.ndarray, np.ndarray]


def _data(name: str) -> Data:
    if name == "signed":  # regression targets on both sides of zero
        x, y = datasets.make_regression(n_samples=200, n_features=5, random_state=0)
        return x.astype("float32"), y.astype("float32")
    bunch = getattr(datasets, f"load_{name}")()
    x = bunch.data.astype("float32")
    return x, bunch.target.astype("float32" if name == "diabetes" else "int64")


def _one_hot(data: Data) -> Data:
    x, y = data
    return x, np.eye(int(y.max()) + 1, dtype="float32")[y]


def _multi_label() -> Data:
    """Three 0/1 flags per sample, any number of them set: multi-label targets."""
    x, _ = _data("wine")
    flags = (x[:, :3] > np.median(x[:, :3], axis=0)).astype("float32")
    return x, flags


def _model(n_inputs: int, *head: keras.layers.Layer) -> keras.Model:
    return keras.Sequential([keras.Input((n_inputs,)), keras.layers.Dense(8, "relu"), *head])


def _profile(
    data: Data, head: tuple[keras.layers.Layer, ...], loss: Any, metrics: tuple[str, ...] = ()
) -> ModelProfile:
    model = _model(data[0].shape[1], *head)
    model.compile(optimizer="adam", loss=loss, metrics=list(metrics) or None)
    return profile(build_plan(plan_request(model, data, validation_split=0.2, epochs=2)))


def _fired(
    data: Data, head: tuple[keras.layers.Layer, ...], loss: Any, metrics: tuple[str, ...] = ()
) -> dict[str, Finding]:
    context = RuleContext(model=_profile(data, head, loss, metrics))
    rules = [load_catalogue().find(rule_id) for rule_id in MODEL_RULES]
    return {f.rule: f for f in run_rules(HISTORY, context, rules=rules)}


Dense = keras.layers.Dense
Case = tuple[str, Callable[[], Data], Callable[[], tuple[keras.layers.Layer, ...]], Any, set[str]]
CASES: list[Case] = [
    # output-activation
    (
        "softmax-1-unit",
        lambda: _data("breast_cancer"),
        lambda: (Dense(1, "softmax"),),
        "binary_crossentropy",
        {"output-activation"},
    ),
    (
        "sigmoid-regression",
        lambda: _data("diabetes"),
        lambda: (Dense(1, "sigmoid"),),
        "mse",
        {"output-activation"},
    ),
    (
        "relu-on-negative-targets",
        lambda: _data("signed"),
        lambda: (Dense(1, "relu"),),
        "mse",
        {"output-activation"},
    ),
    (
        "activation-layer-sigmoid-regression",
        lambda: _data("diabetes"),
        lambda: (Dense(1), keras.layers.Activation("sigmoid")),
        "mae",
        {"output-activation"},
    ),
    (
        "sigmoid-units-under-categorical-loss",
        lambda: _one_hot(_data("iris")),
        lambda: (Dense(3, "sigmoid"),),
        "categorical_crossentropy",
        {"output-activation"},
    ),
    # loss-targets
    (
        "binary-loss-on-3-classes",
        lambda: _data("iris"),
        lambda: (Dense(1, "sigmoid"),),
        "binary_crossentropy",
        {"loss-targets"},
    ),
    (
        "binary-loss-on-measurements",
        lambda: _data("diabetes"),
        lambda: (Dense(1),),
        "binary_crossentropy",
        {"loss-targets", "from-logits"},
    ),
    (
        "sparse-loss-on-one-hot",
        lambda: _one_hot(_data("iris")),
        lambda: (Dense(3, "softmax"),),
        "sparse_categorical_crossentropy",
        {"loss-targets"},
    ),
    (
        "too-few-units",
        lambda: _data("wine"),
        lambda: (Dense(2, "softmax"),),
        "sparse_categorical_crossentropy",
        {"loss-targets"},
    ),
    (
        "categorical-loss-on-multi-label",
        _multi_label,
        lambda: (Dense(3, "softmax"),),
        "categorical_crossentropy",
        {"loss-targets"},
    ),
    (
        "sigmoid-units-binary-loss-on-multi-label",
        _multi_label,
        lambda: (Dense(3, "sigmoid"),),
        "binary_crossentropy",
        set(),
    ),
    # from-logits
    (
        "logits-loss-on-sigmoid",
        lambda: _data("breast_cancer"),
        lambda: (Dense(1, "sigmoid"),),
        keras.losses.BinaryCrossentropy(from_logits=True),
        {"from-logits"},
    ),
    (
        "probability-loss-on-linear",
        lambda: _data("iris"),
        lambda: (Dense(3),),
        "sparse_categorical_crossentropy",
        {"from-logits"},
    ),
    # healthy heads: nothing fires
    (
        "softmax-categorical-one-hot",
        lambda: _one_hot(_data("iris")),
        lambda: (Dense(3, "softmax"),),
        "categorical_crossentropy",
        set(),
    ),
    (
        "sigmoid-binary",
        lambda: _data("breast_cancer"),
        lambda: (Dense(1, "sigmoid"),),
        "binary_crossentropy",
        set(),
    ),
    ("linear-regression", lambda: _data("diabetes"), lambda: (Dense(1),), "mse", set()),
    (
        "relu-on-positive-targets",
        lambda: _data("diabetes"),
        lambda: (Dense(1, "relu"),),
        "mse",
        set(),
    ),
    (
        "softmax-sparse",
        lambda: _data("iris"),
        lambda: (Dense(3, "softmax"),),
        "sparse_categorical_crossentropy",
        set(),
    ),
    (
        "softmax-categorical-one-hot",
        lambda: _one_hot(_data("wine")),
        lambda: (Dense(3), keras.layers.Softmax()),
        "categorical_crossentropy",
        set(),
    ),
    (
        "logits-loss-on-linear",
        lambda: _data("breast_cancer"),
        lambda: (Dense(1),),
        keras.losses.BinaryCrossentropy(from_logits=True),
        set(),
    ),
]


@pytest.mark.parametrize(
    ("data", "head", "loss", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_model_rule_fires_exactly_on_its_fault(
    data: Callable[[], Data],
    head: Callable[[], tuple[keras.layers.Layer, ...]],
    loss: Any,
    expected: set[str],
) -> None:
    found = _fired(data(), head(), loss)
    assert set(found) == expected
    for finding in found.values():
        assert finding.fixes == ("repair-head",)


# A regression loss on class labels, from a script that classifies (a metric or the head says
# so): the loss is the fault. The same loss on a regression, integer targets included, is not.
REGRESSION_LOSS_CASES = [
    ("relu-mse-accuracy-on-0/1", "breast_cancer", "relu", "mse", ("accuracy",), True),
    ("softmax-1-unit-mae-on-0/1", "breast_cancer", "softmax", "mae", ("accuracy",), True),
    ("sigmoid-huber-on-0/1", "breast_cancer", "sigmoid", "huber", (), True),
    ("linear-mse-auc-on-3-classes", "iris", "linear", "mse", ("auc",), True),
    ("linear-mse-on-0/1-no-metric", "breast_cancer", "linear", "mse", (), False),
    ("linear-mse-mae-on-integer-targets", "diabetes_int", "linear", "mse", ("mae",), False),
    ("relu-mse-accuracy-on-integer-targets", "diabetes_int", "relu", "mse", ("accuracy",), False),
]


@pytest.mark.parametrize(
    ("name", "activation", "loss", "metrics", "fires"),
    [c[1:] for c in REGRESSION_LOSS_CASES],
    ids=[c[0] for c in REGRESSION_LOSS_CASES],
)
def test_a_regression_loss_on_class_labels_is_the_fault_only_when_the_script_classifies(
    name: str, activation: str, loss: str, metrics: tuple[str, ...], fires: bool
) -> None:
    if name == "diabetes_int":  # disease progression, a whole number from 25 to 346
        x, y = _data("diabetes")
        data = (x, y.astype("int64"))
    else:
        data = _data(name)
    found = _fired(data, (Dense(1, activation),), loss, metrics)
    assert ("loss-targets" in found) is fires
    if fires:
        finding = found["loss-targets"]
        wanted = "binary_crossentropy" if name == "breast_cancer" else "sparse_categorical"
        assert finding.message.startswith(f"the compiled loss {loss} is a regression loss")
        assert wanted in finding.message and "output-activation" not in found  # superseded
        assert finding.fixes == ("repair-head",)


def test_subclassed_model_head_is_unknown_and_no_model_rule_guesses() -> None:
    class Net(keras.Model):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.out = Dense(1, "softmax")

        def call(self, x: Any) -> Any:
            return self.out(x)

    model = Net()
    x, y = _data("breast_cancer")
    model(x[:2])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model_profile = profile(build_plan(plan_request(model, (x, y), validation_split=0.2)))
    assert model_profile.output_activation is None
    rules = [load_catalogue().find(rule_id) for rule_id in MODEL_RULES]
    assert run_rules(HISTORY, RuleContext(model=model_profile), rules=rules) == []


def test_model_rules_are_skipped_without_a_model_as_in_advisor_check() -> None:
    rules = [load_catalogue().find(rule_id) for rule_id in MODEL_RULES]
    assert all(rule.input == "model" for rule in rules)
    assert run_rules(HISTORY, RuleContext(), rules=rules) == []


def test_constant_predictor_loss_is_the_label_entropy_on_imbalanced_classes() -> None:
    _, y = _data("breast_cancer")  # 63 % benign
    entropy = constant_loss("binary_crossentropy", y)
    assert entropy is not None and 0.64 < entropy < 0.67 < np.log(2)
    _, labels = _data("wine")
    assert constant_loss("sparse_categorical_crossentropy", labels) < np.log(3)


def test_constant_predictor_loss_under_class_weight_is_what_keras_logs_for_it() -> None:
    y = np.array([1.0] * 5 + [0.0] * 95)
    weights = np.where(y == 1, 10.0, 1.0)
    prior = float(np.average(y, weights=weights))  # the best constant under these weights
    logged = keras.losses.BinaryCrossentropy()(
        y[:, None], np.full((100, 1), prior), sample_weight=weights
    )
    assert constant_loss("binary_crossentropy", y, weights) == pytest.approx(float(logged), 1e-5)
    assert constant_loss("binary_crossentropy", y) == pytest.approx(0.1985, 1e-3)
    assert constant_loss("mse", y, np.ones(100)) == constant_loss("mse", y)


def test_constant_predictor_loss_of_a_regression_is_the_variance() -> None:
    _, y = _data("diabetes")
    assert constant_loss("mse", y) == pytest.approx(float(np.var(y.astype("float64"))))
    assert constant_loss("mean_squared_error", y) == constant_loss("mse", y)
    assert constant_loss("huber", y) is None


def test_a_one_unit_head_on_three_classes_is_scored_over_every_class() -> None:
    """The user's one sigmoid unit on labels 0..2, scored with the cross-entropy the repaired
    head is: class 2 costs what a probability of 0 costs (clipped at 1e-7), the others what
    ``[1 - p, p]`` gives them, instead of the loss refusing labels beyond its unit."""
    from advisor.training.fit import task_loss_per_sample

    y = np.array([0, 1, 2])
    p = np.array([[0.2], [0.9], [0.5]], dtype="float32")
    losses = task_loss_per_sample("sparse_categorical_crossentropy", y, p)
    assert losses == pytest.approx([-np.log(0.8), -np.log(0.9), -np.log(1e-7)], rel=1e-3)
    wide = np.array([[0.7, 0.2, 0.1]], dtype="float32")  # a head wide enough: as Keras scores it
    assert task_loss_per_sample("sparse_categorical_crossentropy", np.array([0]), wide) == (
        pytest.approx([-np.log(0.7)], rel=1e-4)
    )


def test_a_classification_loss_on_measurements_is_named_with_the_loss_they_call_for() -> None:
    fired = _fired(_data("diabetes"), (Dense(1),), "binary_crossentropy")
    message = fired["loss-targets"].message
    assert "the targets are measurements (25..346" in message and "(mse)" in message
