"""The learning-rate range test on real tiny Keras models: it points away from a bad rate, in
either direction, and never leaks the swept weights."""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import pytest
from sklearn.datasets import make_classification

from advisor.training.lr_range import lr_range_test

X, Y = make_classification(n_samples=400, n_features=10, n_informative=6, random_state=0)
X = X.astype("float32")


def factory(optimizer: Callable[[], keras.optimizers.Optimizer], trainable: bool = True):
    built: list[keras.Model] = []

    def build() -> keras.Model:
        model = keras.Sequential(
            [
                keras.Input(shape=(10,)),
                keras.layers.Dense(16, activation="relu", trainable=trainable),
                keras.layers.Dense(1, activation="sigmoid", trainable=trainable),
            ]
        )
        model.compile(optimizer=optimizer(), loss="binary_crossentropy", metrics=["accuracy"])
        built.append(model)
        return model

    build.built = built  # type: ignore[attr-defined]
    return build


def accuracy_after(build: Callable[[], keras.Model], rate: float) -> float:
    keras.utils.set_random_seed(1)
    model = build()
    model.optimizer.learning_rate = rate
    model.fit(X, Y, epochs=3, batch_size=32, verbose=0)
    return float(model.evaluate(X, Y, verbose=0, return_dict=True)["accuracy"])


def test_adam_at_100_gets_a_rate_far_below_and_it_trains_better() -> None:
    build = factory(lambda: keras.optimizers.Adam(learning_rate=100.0))
    found = lr_range_test(build, X, Y, batch_size=32, seed=0)
    assert not found.inconclusive, found.reason
    assert found.suggested <= 0.1
    assert found.min_loss_lr <= 10.0
    assert accuracy_after(build, found.suggested) > accuracy_after(build, 100.0) + 0.1


def test_sgd_at_1e_6_gets_a_rate_far_above_and_it_trains_better() -> None:
    build = factory(lambda: keras.optimizers.SGD(learning_rate=1e-6))
    found = lr_range_test(build, X, Y, batch_size=32, seed=0)
    assert not found.inconclusive, found.reason
    assert found.suggested >= 1e-4
    assert accuracy_after(build, found.suggested) > accuracy_after(build, 1e-6) + 0.1


def test_the_curve_stops_when_the_loss_runs_away() -> None:
    found = lr_range_test(
        factory(lambda: keras.optimizers.SGD(learning_rate=0.01)), X, Y, batch_size=32, seed=0
    )
    assert len(found.losses) < 100
    assert found.losses[-1] > 4 * min(found.losses) or not np.isfinite(found.losses[-1])
    assert len(found.learning_rates) == len(found.losses) == len(found.raw_losses)
    assert found.learning_rates[0] == pytest.approx(1e-7)


def test_swept_weights_do_not_leak() -> None:
    build = factory(lambda: keras.optimizers.Adam(learning_rate=1e-3))
    first = lr_range_test(build, X, Y, batch_size=32, seed=0)
    second = lr_range_test(build, X, Y, batch_size=32, seed=0)
    assert first == second
    swept = build.built  # type: ignore[attr-defined]
    assert len(swept) == 2 and swept[0] is not swept[1]
    keras.utils.set_random_seed(0)
    untouched = build()
    kernels = [w for w in swept[0].get_weights() if w.ndim == 2]
    fresh = [w for w in untouched.get_weights() if w.ndim == 2]
    assert not any(np.allclose(a, b) for a, b in zip(kernels, fresh, strict=True)), (
        "the sweep trained the factory's model, not one the caller holds"
    )
    assert untouched.optimizer.learning_rate.numpy() == pytest.approx(1e-3)


@pytest.mark.filterwarnings("ignore:The model does not have any trainable weights")
def test_a_model_that_cannot_learn_is_inconclusive() -> None:
    frozen = factory(lambda: keras.optimizers.Adam(learning_rate=1e-3), trainable=False)
    found = lr_range_test(frozen, X, Y, batch_size=32, seed=0)
    assert found.inconclusive
    assert "falls" in found.reason


def test_schedules_and_uncompiled_models_are_refused_with_one_line() -> None:
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-2, 10, 0.9)
    with pytest.raises(ValueError, match="constant learning rate"):
        lr_range_test(factory(lambda: keras.optimizers.Adam(schedule)), X, Y, batch_size=32, seed=0)
    with pytest.raises(ValueError, match="compiled"):
        lr_range_test(
            lambda: keras.Sequential([keras.Input(shape=(10,)), keras.layers.Dense(1)]),
            X,
            Y,
            batch_size=32,
            seed=0,
        )


def test_float64_data_reaches_a_users_own_loss_as_fit_gives_it() -> None:
    """fit casts float64 NumPy to float32 and a user's metric written as ``y_true - y_pred``
    relies on it; train_on_batch does not cast, so the sweep does, as fit would."""

    def squared_error(y_true: object, y_pred: object) -> object:
        return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)  # type: ignore[operator]

    def build() -> keras.Model:
        model = keras.Sequential([keras.Input(shape=(10,)), keras.layers.Dense(1)])
        model.compile(
            optimizer=keras.optimizers.SGD(learning_rate=1e-4), loss="mse", metrics=[squared_error]
        )
        return model

    targets = (X[:, 0] * 3.0).astype("float64")[:, None]
    found = lr_range_test(build, X.astype("float64"), targets, batch_size=32, seed=0)
    assert found.suggested > 1e-4, found.reason


class UnpacksTwo(keras.Model):
    """The Keras guide's custom step: ``x, y = data``, which fit's data satisfies and
    ``train_on_batch``'s ``(x, y, None)`` does not."""

    def train_step(self, data):  # type: ignore[no-untyped-def]
        x, y = data
        return super().train_step((x, y))

    def test_step(self, data):  # type: ignore[no-untyped-def]
        x, y = data
        return super().test_step((x, y))


def test_a_model_with_its_own_train_step_is_swept_as_fit_feeds_it() -> None:
    def build() -> keras.Model:
        inputs = keras.Input(shape=(10,))
        hidden = keras.layers.Dense(16, activation="relu")(inputs)
        model = UnpacksTwo(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))
        model.compile(optimizer=keras.optimizers.SGD(1e-6), loss="binary_crossentropy")
        return model

    found = lr_range_test(build, X, Y, batch_size=32, seed=0, steps=40)
    assert not found.inconclusive, found.reason
    assert found.suggested >= 1e-4
