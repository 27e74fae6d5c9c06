"""Every fix applied to a real model of each kind, trained for real, with the effect checked."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from advisor.capture.plan_builder import build_plan
from advisor.fixes.apply import apply_fixes
from advisor.plan import CallbackSpec, TrainingPlan
from advisor.python_api import plan_request
from advisor.report.snippet import code_snippet
from advisor.training.fit import evaluate, fit_plan

RNG = np.random.default_rng(0)
# Two informative features on very different scales, one of them with gaps.
X = np.column_stack([RNG.normal(0, 1, 240), RNG.normal(500, 200, 240), RNG.normal(0, 1, 240)])
Y = ((X[:, 0] + (X[:, 1] - 500) / 200) > 0).astype("float32")
X_GAPPY = X.copy()
X_GAPPY[RNG.random(X.shape) < 0.05] = np.nan


@keras.saving.register_keras_serializable(package="fit_advisor_tests")
class TwoLayer(keras.Model):
    def __init__(self, units: int = 8, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = units
        self.hidden = keras.layers.Dense(units, activation="relu")
        self.out = keras.layers.Dense(1, activation="sigmoid")

    def call(self, inputs: Any) -> Any:
        return self.out(self.hidden(inputs))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units}


def make_model(kind: str) -> keras.Model:
    if kind == "sequential":
        model = keras.Sequential(
            [
                keras.Input((3,)),
                keras.layers.Dense(8, activation="relu"),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )
    elif kind == "functional":
        inputs = keras.Input((3,))
        hidden = keras.layers.Dense(8, activation="relu")(inputs)
        model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))
    else:
        model = TwoLayer()
        model(X[:1])
    model.compile(
        optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"]
    )
    return model


def make_plan(kind: str = "sequential", x: np.ndarray = X, epochs: int = 4) -> TrainingPlan:
    request = plan_request(make_model(kind), (x, Y), validation_split=0.25, epochs=epochs)
    return build_plan(request)


def layer_types(model: keras.Model) -> list[str]:
    found: list[str] = []
    for layer in model.layers:
        found.append(type(layer).__name__)
        if isinstance(layer, keras.Model):
            found.extend(layer_types(layer))
    return found


def test_same_plan_and_seed_give_the_same_run() -> None:
    plan = make_plan()
    first, second = fit_plan(plan, seed=3), fit_plan(plan, seed=3)
    assert first.history.get("val_loss") == second.history.get("val_loss")


def test_fits_never_touch_the_users_model() -> None:
    plan = make_plan()
    before = [w.copy() for w in plan.model.source.get_weights()]
    fixed, _ = apply_fixes(plan, ("standardize", "dropout", "l2", "lower-lr"))
    fit_plan(fixed, seed=0)
    after = plan.model.source.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    assert int(plan.model.source.optimizer.iterations.numpy()) == 0


def test_standardize_builds_the_scaling_into_the_model() -> None:
    fixed, _ = apply_fixes(make_plan(), ("standardize",))
    model = fit_plan(fixed, seed=0).model
    assert "Normalization" in layer_types(model)
    assert model.input_shape == (None, 3)  # same raw inputs as the user's model


def test_impute_makes_nan_inputs_predict_finite_values() -> None:
    plan = make_plan(x=X_GAPPY)
    baseline = fit_plan(plan, seed=0).model
    fixed, _ = apply_fixes(plan, ("impute", "standardize"))
    model = fit_plan(fixed, seed=0).model
    # Trained on NaN, the user's model predicts NaN or one constant for every sample.
    broken = baseline.predict(X_GAPPY[:20], verbose=0)
    assert np.isnan(broken).any() or np.ptp(broken) < 1e-6
    fixed_predictions = model.predict(X_GAPPY[:20], verbose=0)
    assert np.isfinite(fixed_predictions).all() and np.ptp(fixed_predictions) > 1e-3


def test_l2_is_left_out_of_the_compared_loss_and_of_what_callbacks_watch() -> None:
    # a penalty too big to miss
    fixed, _ = apply_fixes(make_plan(), ("early-stopping", "l2"), {"l2": {"l2": 1.0}})
    outcome = fit_plan(fixed, seed=0)
    scores = outcome.model.evaluate(X, Y, verbose=0, return_dict=True)
    plain = evaluate(outcome.model, fixed, X, Y).loss
    assert scores["loss"] > plain + 0.01
    # Early stopping watched the penalty-free validation loss, which Keras logged beside its own.
    assert fixed.all_callbacks()[0].kwargs["monitor"] == "val_task_loss"
    watched, keras_val = outcome.history.get("val_task_loss"), outcome.history.get("val_loss")
    assert watched is not None and keras_val is not None
    assert all(w < k for w, k in zip(watched.values, keras_val.values, strict=True))
    assert "task_loss" not in scores  # the model handed out is compiled as the user compiled it


def test_the_snippet_is_code_that_builds_the_fixed_model() -> None:
    plan = make_plan()
    fixed, _ = apply_fixes(plan, ("standardize", "dropout", "l2", "early-stopping", "lower-lr"))
    snippet = code_snippet(fixed, fit_plan(fixed, seed=0).model)
    runnable = snippet.replace(
        "model.fit(..., callbacks=callbacks)",
        "model.fit(x_train, y, validation_split=0.25, epochs=2, verbose=0, callbacks=callbacks)",
    )
    namespace: dict[str, Any] = {"keras": keras, "x_train": X, "y": Y}
    exec(runnable, namespace)  # the user's script would run exactly these lines
    model = namespace["model"]
    assert "Dropout" in layer_types(model) and "Normalization" in layer_types(model)
    assert "task_loss" in model.evaluate(X, Y, verbose=0, return_dict=True)
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.001)


def test_early_stopping_stops_and_lr_decay_lowers_the_rate() -> None:
    # validation_split=0.2: a split on which this run's val_loss stalls within 30 epochs.
    plan = build_plan(
        plan_request(make_model("sequential"), (X, Y), validation_split=0.2, epochs=30)
    )
    fixed, _ = apply_fixes(plan, ("early-stopping", "lr-decay"))
    history = fit_plan(fixed, seed=0).history
    assert history.n_epochs < 30
    rates = history.get("learning_rate")
    assert rates is not None and rates.values[-1] < rates.values[0]


def test_lower_lr_scales_the_users_learning_rate() -> None:
    fixed, _ = apply_fixes(make_plan(), ("lower-lr",))
    model = fit_plan(fixed, seed=0).model
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.001)


# Loading the saved model must not warn (an unbuilt optimizer once made Keras skip variables).
@pytest.mark.filterwarnings("error::UserWarning")
@pytest.mark.parametrize("kind", ["sequential", "functional", "subclassed"])
def test_every_fix_at_once_on_each_model_kind(kind: str, tmp_path: Path) -> None:
    plan = make_plan(kind, x=X_GAPPY)
    wanted = ("impute", "standardize", "dropout", "l2", "early-stopping", "lr-decay", "lower-lr")
    fixed, skipped = apply_fixes(plan, wanted)
    outcome = fit_plan(fixed, seed=0)
    scores = evaluate(outcome.model, fixed, plan.data.x_holdout, plan.data.y_holdout)
    assert np.isfinite(scores.loss) and "accuracy" in scores.metrics
    rewritten = {"dropout", "l2"}
    if kind == "subclassed":
        assert {s.fix for s in skipped} == rewritten
        assert set(fixed.applied_fixes) == set(wanted) - rewritten
    else:
        assert skipped == [] and "Dropout" in layer_types(outcome.model)
    path = tmp_path / "fixed.keras"
    outcome.model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        loaded.predict(X_GAPPY[:10], verbose=0),
        outcome.model.predict(X_GAPPY[:10], verbose=0),
        rtol=1e-5,
    )


def test_a_users_early_stopping_without_a_mode_trains_under_a_kernel_penalty() -> None:
    """Under L2 the user's val_loss monitor watches the penalty-free val_task_loss, whose
    direction Keras cannot infer from its name: the mode is said, and the fit runs."""
    stop = CallbackSpec("EarlyStopping", {"monitor": "val_loss", "patience": 1})
    plan = replace(make_plan(epochs=3), callbacks=(stop,))
    penalised, _ = apply_fixes(plan, ("l2",))
    (watched,) = penalised.all_callbacks()
    assert watched.kwargs == {"monitor": "val_task_loss", "patience": 1, "mode": "min"}
    outcome = fit_plan(penalised, seed=0)
    assert 1 <= outcome.history.n_epochs <= 3
