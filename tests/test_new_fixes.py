"""The fixes beyond the first catalogue, each applied to a real tiny model and trained for real.

relu-he, batch-norm, clip-gradients, adaptive-optimizer, l1, elastic-net, augment and
train-longer: where each lands in the rebuilt model, what a user sees change in training, when
each is skipped (and when that skip is too obvious to report), and that every rewritten model
saves and loads with plain Keras.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from advisor.capture.plan_builder import build_plan
from advisor.findings import Finding, Severity
from advisor.fix import Skipped
from advisor.fix_registry import load_fixes
from advisor.fixes.apply import apply_fixes
from advisor.pipeline import AdviceOptions, run_advice
from advisor.plan import TrainingPlan
from advisor.python_api import plan_request
from advisor.rule import Rule, RuleContext
from advisor.training.fit import evaluate, fit_plan

RNG = np.random.default_rng(0)
X = RNG.normal(size=(96, 6)).astype("float32")
Y = (X[:, 0] + X[:, 1] > 0).astype("float32")
IMAGES = RNG.random((96, 8, 8, 1)).astype("float32")
IMAGE_LABELS = (IMAGES[:, :4].mean(axis=(1, 2, 3)) > IMAGES[:, 4:].mean(axis=(1, 2, 3))).astype(
    "int64"
)
LAYER_FIXES = ("relu-he", "batch-norm", "elastic-net")
DEFAULTS = {fix.id: fix.defaults() for fix in load_fixes().fixes}
ADAPTIVE_LEARNING_RATE = DEFAULTS["adaptive-optimizer"]["learning_rate"]
CLIPNORM = DEFAULTS["clip-gradients"]["clipnorm"]
TRAIN_LONGER_FACTOR = int(DEFAULTS["train-longer"]["factor"])


@keras.saving.register_keras_serializable(package="fit_advisor_tests")
class SigmoidNet(keras.Model):
    def __init__(self, units: int = 8, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = units
        self.hidden = keras.layers.Dense(units, activation="sigmoid")
        self.out = keras.layers.Dense(1, activation="sigmoid")

    def call(self, inputs: Any) -> Any:
        return self.out(self.hidden(inputs))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units}


def sigmoid_mlp(kind: str = "sequential", activation: str = "sigmoid") -> keras.Model:
    """Two hidden layers of ``activation``, a sigmoid output that must keep its activation."""
    if kind == "subclassed":
        model: keras.Model = SigmoidNet()
        model(X[:1])
        return model
    if kind == "sequential":
        return keras.Sequential(
            [
                keras.Input((6,)),
                keras.layers.Dense(8, activation=activation),
                keras.layers.Dense(8, activation="tanh"),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )
    inputs = keras.Input((6,))
    hidden = keras.layers.Dense(8, activation=activation)(inputs)
    hidden = keras.layers.Dense(8, activation="tanh")(hidden)
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))


def small_cnn() -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, padding="same", activation="tanh"),
            keras.layers.Flatten(),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )


def plan_for(
    model: keras.Model,
    data: tuple[np.ndarray, np.ndarray] = (X, Y),
    *,
    optimizer: Any = None,
    loss: str = "binary_crossentropy",
    epochs: int = 2,
) -> TrainingPlan:
    model.compile(
        optimizer=optimizer or keras.optimizers.Adam(0.01), loss=loss, metrics=["accuracy"]
    )
    return build_plan(plan_request(model, data, validation_split=0.25, epochs=epochs))


def fixed(plan: TrainingPlan, *fixes: str) -> TrainingPlan:
    result, skipped = apply_fixes(plan, fixes)
    assert skipped == [], skipped
    return result


def skip_of(plan: TrainingPlan, fix: str) -> Skipped:
    result, skipped = apply_fixes(plan, (fix,))
    assert result == plan and len(skipped) == 1
    return skipped[0]


def leaf_layers(model: keras.Model) -> list[keras.layers.Layer]:
    found: list[keras.layers.Layer] = []
    for layer in model.layers:
        found.extend(leaf_layers(layer) if isinstance(layer, keras.Model) else [layer])
    return found


def kinds(model: keras.Model) -> list[str]:
    return [
        type(layer).__name__ for layer in leaf_layers(model) if type(layer).__name__ != "InputLayer"
    ]


def round_trips(model: keras.Model, x: np.ndarray, path: Path) -> None:
    keras.saving.save_model(model, path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )


# ---- relu-he and batch-norm ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_relu_he_replaces_hidden_sigmoid_and_tanh_but_not_the_output(
    kind: str, tmp_path: Path
) -> None:
    plan = fixed(plan_for(sigmoid_mlp(kind)), "relu-he")
    model = fit_plan(plan, seed=0).model

    dense = [layer for layer in leaf_layers(model) if isinstance(layer, keras.layers.Dense)]
    configs = [layer.get_config() for layer in dense]
    assert [c["activation"] for c in configs] == ["relu", "relu", "sigmoid"]
    assert [c["kernel_initializer"]["class_name"] for c in configs[:2]] == ["HeNormal"] * 2
    assert configs[2]["kernel_initializer"]["class_name"] != "HeNormal"
    round_trips(model, X[:8], tmp_path / "relu_he.keras")


@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_batch_norm_goes_between_each_hidden_layer_and_its_activation(
    kind: str, tmp_path: Path
) -> None:
    plan = fixed(plan_for(sigmoid_mlp(kind)), "batch-norm", "dropout")
    model = fit_plan(plan, seed=0).model

    assert kinds(model) == [
        *("Dense", "BatchNormalization", "Activation", "Dropout"),
        *("Dense", "BatchNormalization", "Activation", "Dropout"),
        "Dense",
    ]
    activations = [
        layer for layer in leaf_layers(model) if isinstance(layer, keras.layers.Activation)
    ]
    assert [layer.get_config()["activation"] for layer in activations] == ["sigmoid", "tanh"]
    assert leaf_layers(model)[-1].get_config()["activation"] == "sigmoid"
    round_trips(model, X[:8], tmp_path / "batch_norm.keras")


def test_batch_norm_on_a_conv_layer_follows_its_channels() -> None:
    plan = fixed(
        plan_for(small_cnn(), (IMAGES, IMAGE_LABELS), loss="sparse_categorical_crossentropy"),
        "batch-norm",
        "relu-he",
    )
    model = fit_plan(plan, seed=0).model

    assert kinds(model) == ["Conv2D", "BatchNormalization", "Activation", "Flatten", "Dense"]
    assert model.layers[1].moving_mean.shape == (4,)
    assert model.layers[2].get_config()["activation"] == "relu"


def test_relu_he_and_batch_norm_start_a_stalled_sigmoid_stack_learning() -> None:
    """Eight sigmoid layers under plain SGD: the loss does not move; either fix moves it."""
    model = keras.Sequential(
        [keras.Input((6,))]
        + [keras.layers.Dense(16, activation="sigmoid") for _ in range(8)]
        + [keras.layers.Dense(1, activation="sigmoid")]
    )
    plan = plan_for(model, optimizer=keras.optimizers.SGD(0.05), epochs=15)

    def training_gain(p: TrainingPlan) -> float:
        losses = fit_plan(p, seed=0).history.get("loss")
        assert losses is not None
        return losses.values[0] - losses.values[-1]

    assert training_gain(plan) < 0.01
    assert training_gain(fixed(plan, "relu-he")) > 0.05
    assert training_gain(fixed(plan, "batch-norm")) > 0.05


def test_layer_fixes_skip_where_they_have_nothing_to_act_on() -> None:
    relu_plan = plan_for(sigmoid_mlp(activation="relu"))
    assert relu_plan.model.hidden_activations == ("relu", "tanh")
    only_relu = plan_for(
        keras.Sequential(
            [keras.Input((6,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1)]
        )
    )
    assert skip_of(only_relu, "relu-he").quiet
    linear = plan_for(keras.Sequential([keras.Input((6,)), keras.layers.Dense(1)]))
    assert skip_of(linear, "batch-norm").quiet
    normalized = plan_for(
        keras.Sequential(
            [
                keras.Input((6,)),
                keras.layers.Dense(4, activation="sigmoid"),
                keras.layers.BatchNormalization(),
                keras.layers.Dense(1),
            ]
        )
    )
    skipped = skip_of(normalized, "batch-norm")
    assert "already has BatchNormalization" in skipped.reason and not skipped.quiet


@pytest.mark.parametrize("fix", LAYER_FIXES)
def test_layer_fixes_say_why_a_subclassed_model_is_left_alone(fix: str) -> None:
    skipped = skip_of(plan_for(sigmoid_mlp("subclassed")), fix)
    assert "subclassed" in skipped.reason and not skipped.quiet


# ---- optimizer fixes --------------------------------------------------------------------------


def exploding_regression() -> TrainingPlan:
    """Raw targets in the hundreds, SGD with momentum: the loss overflows within a few epochs."""
    x = RNG.normal(size=(128, 5)).astype("float32")
    y = (150 + 60 * x[:, 0] + 40 * x[:, 1]).astype("float32")
    model = keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="mse")
    return build_plan(plan_request(model, (x, y), validation_split=0.25, epochs=6))


def test_clip_gradients_keeps_an_exploding_sgd_regression_finite() -> None:
    plan = exploding_regression()
    baseline = fit_plan(plan, seed=0)
    clipped = fit_plan(fixed(plan, "clip-gradients"), seed=0)

    baseline_loss = baseline.history.get("loss")
    clipped_loss = clipped.history.get("loss")
    assert baseline_loss is not None and clipped_loss is not None
    first, last = baseline_loss.values[0], baseline_loss.values[-1]
    assert not last < 100 * first  # overflowed to NaN/inf, or orders of magnitude up
    assert np.all(np.isfinite(clipped_loss.values))
    assert clipped_loss.values[-1] < clipped_loss.values[0]
    assert clipped.model.optimizer.clipnorm == pytest.approx(CLIPNORM)


def test_clip_gradients_is_skipped_when_the_optimizer_clips_already() -> None:
    plan = plan_for(sigmoid_mlp(), optimizer=keras.optimizers.SGD(0.01, global_clipnorm=5.0))
    assert "already clips" in skip_of(plan, "clip-gradients").reason


def test_adaptive_optimizer_replaces_sgd_by_adam_keeping_its_clipping() -> None:
    plan = plan_for(sigmoid_mlp(), optimizer=keras.optimizers.SGD(0.5, momentum=0.9, clipvalue=2.0))
    model = fit_plan(fixed(plan, "adaptive-optimizer", "lower-lr"), seed=0).model

    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(
        ADAPTIVE_LEARNING_RATE * 0.1
    )
    assert model.optimizer.clipvalue == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("optimizer", "quiet"),
    [
        (keras.optimizers.RMSprop(), True),
        (keras.optimizers.Adam(), True),
        (keras.optimizers.Lion(), True),
    ],
)
def test_adaptive_optimizer_leaves_adaptive_optimizers_alone_quietly(
    optimizer: Any, quiet: bool
) -> None:
    assert (
        skip_of(plan_for(sigmoid_mlp(), optimizer=optimizer), "adaptive-optimizer").quiet is quiet
    )


# ---- elastic-net (L1 beside L2) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fix", "regularizer", "expected"),
    [("elastic-net", "L1L2", DEFAULTS["elastic-net"])],
)
def test_elastic_net_regularises_every_kernel_and_stay_out_of_the_compared_loss(
    fix: str, regularizer: str, expected: dict[str, float], tmp_path: Path
) -> None:
    plan = fixed(plan_for(sigmoid_mlp()), fix)
    model = fit_plan(plan, seed=0).model

    configs = [
        layer.get_config()["kernel_regularizer"]
        for layer in leaf_layers(model)
        if isinstance(layer, keras.layers.Dense)
    ]
    assert [c["class_name"] for c in configs] == [regularizer] * 3
    for key, value in expected.items():
        assert configs[0]["config"][key] == pytest.approx(value)
    keras_loss = model.evaluate(X, Y, verbose=0, return_dict=True)["loss"]
    assert keras_loss > evaluate(model, plan, X, Y).loss  # the penalty is left out
    round_trips(model, X[:8], tmp_path / f"{fix}.keras")


# ---- augment ---------------------------------------------------------------------------------


def test_augment_changes_images_in_training_only(tmp_path: Path) -> None:
    plan = fixed(
        plan_for(small_cnn(), (IMAGES, IMAGE_LABELS), loss="sparse_categorical_crossentropy"),
        "augment",
        "standardize",
    )
    model = fit_plan(plan, seed=0).model

    augmented = ["RandomTranslation", "RandomRotation", "RandomZoom"]
    assert [k for k in kinds(model) if k.startswith("Random")] == augmented
    assert model.input_shape == (None, 8, 8, 1)
    batch = IMAGES[:16]
    inference = np.asarray(model(batch, training=False))
    np.testing.assert_allclose(np.asarray(model(batch, training=False)), inference)
    assert not np.allclose(np.asarray(model(batch, training=True)), inference)
    round_trips(model, batch, tmp_path / "augment.keras")


def test_augment_wraps_a_subclassed_image_model_too() -> None:
    @keras.saving.register_keras_serializable(package="fit_advisor_tests")
    class TinyConvNet(keras.Model):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.conv = keras.layers.Conv2D(2, 3)
            self.flat = keras.layers.Flatten()
            self.out = keras.layers.Dense(2, activation="softmax")

        def call(self, inputs: Any) -> Any:
            return self.out(self.flat(self.conv(inputs)))

    source = TinyConvNet()
    source(IMAGES[:1])
    plan = plan_for(source, (IMAGES, IMAGE_LABELS), loss="sparse_categorical_crossentropy")
    model = fit_plan(fixed(plan, "augment"), seed=0).model
    assert "RandomZoom" in kinds(model)


def test_augment_skips_tables_quietly_and_models_that_augment_already() -> None:
    assert skip_of(plan_for(sigmoid_mlp()), "augment").quiet
    flipping = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.RandomFlip(),
            keras.layers.Flatten(),
            keras.layers.Dense(2),
        ]
    )
    plan = plan_for(flipping, (IMAGES, IMAGE_LABELS), loss="sparse_categorical_crossentropy")
    skipped = skip_of(plan, "augment")
    assert "already augments" in skipped.reason and not skipped.quiet


def forcing_rule(fixes: tuple[str, ...]) -> Rule:
    def check(history: Any, context: RuleContext) -> list[Finding]:
        return [Finding("forced", "TST001", Severity.WARNING, "forced", fixes=fixes)]

    return Rule("forced", "TST001", Severity.WARNING, "suggests given fixes", "", check)


def test_a_quiet_skip_stays_out_of_the_report_while_a_reasoned_one_is_shown() -> None:
    model = sigmoid_mlp()
    model.compile(optimizer="adam", loss="binary_crossentropy")
    request = plan_request(model, (X, Y), validation_split=0.25, epochs=2)
    options = AdviceOptions(rules=(forcing_rule(("augment", "adaptive-optimizer", "elastic-net")),))

    improvement = run_advice(request, source="test", options=options).improvement

    assert improvement is not None
    # The one usable fix (and its retry with the learning rate the search adds to every fix).
    assert {c.fixes[0] for c in improvement.candidates} == {"elastic-net"}
    assert improvement.skipped == ()
    clipping = keras.Sequential([keras.Input((6,)), keras.layers.Dense(1)])
    clipping.compile(optimizer=keras.optimizers.SGD(clipnorm=1.0), loss="mse")
    request = plan_request(clipping, (X, Y), validation_split=0.25, epochs=2)
    options = AdviceOptions(rules=(forcing_rule(("clip-gradients",)),))
    report = run_advice(request, source="test", options=options)
    assert report.improvement is not None
    assert [s.fix for s in report.improvement.skipped] == ["clip-gradients"]


# ---- train-longer ---------------------------------------------------------------------------


def test_train_longer_raises_the_budget_stops_early_and_states_the_cost() -> None:
    random_labels = RNG.integers(0, 2, len(X)).astype("float32")  # validation soon gets worse
    plan = plan_for(sigmoid_mlp(activation="relu"), (X, random_labels), epochs=10)
    longer = fixed(plan, "train-longer")

    assert longer.fit_epochs == 10 * TRAIN_LONGER_FACTOR and longer.epochs == 10
    assert [c.name for c in longer.all_callbacks()] == ["EarlyStopping"]
    outcome = fit_plan(longer, seed=0)
    ran = outcome.history.n_epochs
    assert ran < longer.fit_epochs
    assert outcome.notes == (
        f"train-longer: {ran} epochs run of a budget of 30 (early stopping), "
        f"{ran / 10:.2g}x the baseline's 10",
    )


def test_train_longer_keeps_the_users_early_stopping_and_the_first_baseline() -> None:
    model = sigmoid_mlp()
    model.compile(optimizer="adam", loss="binary_crossentropy")
    request = plan_request(model, (X, Y), validation_split=0.25, epochs=4)
    stop = keras.callbacks.EarlyStopping(patience=1)
    request = replace(request, fit_kwargs={**request.fit_kwargs, "callbacks": [stop]})
    twice = fixed(build_plan(request), "train-longer", "train-longer")

    assert [c.kwargs["patience"] for c in twice.all_callbacks()] == [1]
    assert twice.fit_epochs == 4 * TRAIN_LONGER_FACTOR**2 and twice.epochs == 4


# ---- everything at once loads without the advisor ----------------------------------------------


def test_every_new_rewrite_at_once_loads_with_plain_keras_in_a_fresh_process(
    tmp_path: Path,
) -> None:
    plan = plan_for(
        small_cnn(),
        (IMAGES, IMAGE_LABELS),
        optimizer=keras.optimizers.SGD(0.01),
        loss="sparse_categorical_crossentropy",
    )
    everything = fixed(
        plan,
        "standardize",
        "augment",
        "relu-he",
        "batch-norm",
        "elastic-net",
        "dropout",
        "clip-gradients",
        "adaptive-optimizer",
    )
    model = fit_plan(everything, seed=0).model
    path = tmp_path / "everything.keras"
    keras.saving.save_model(model, path)
    expected = tmp_path / "expected.npy"
    np.save(expected, model.predict(IMAGES[:8], verbose=0))
    np.save(tmp_path / "x.npy", IMAGES[:8])
    script = (
        "import sys, keras, numpy as np\n"
        f"model = keras.saving.load_model({str(path)!r})\n"
        "assert 'advisor' not in sys.modules\n"
        f"x = np.load({str(tmp_path / 'x.npy')!r})\n"
        f"np.testing.assert_allclose(model.predict(x, verbose=0), np.load({str(expected)!r}), "
        "rtol=1e-5, atol=1e-6)\n"
        "print(type(model.optimizer).__name__, model.optimizer.clipnorm)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-2:] == ["Adam", str(CLIPNORM)]
