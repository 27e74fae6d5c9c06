"""Rebuilding the user's model with fresh weights, as a training run of the advisor sees it.

Real tiny Keras models, a few dozen samples, at most one epoch: the user's model stays as it
was, the rebuilt one starts from fresh weights with adapted preprocessing kept, L2 and Dropout
land where asked, input steps make raw (NaN, badly scaled) inputs usable, and the result
trains, saves and loads with plain Keras. Subclassed models are rebuilt through their class or
refused with a readable error.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from advisor.errors import AdvisorError
from advisor.keras_model.constructor_args import constructor_args_recorded
from advisor.keras_model.inspect import model_kind, normalizes_inputs
from advisor.plan import NO_DROPOUT_SITE, ModelRecipe
from advisor.plan_edits import DropoutAfterHidden, KernelPenalty, PlanEdit, PrependInputStep
from advisor.training.rebuild import RebuiltModel, fresh_model

N_FEATURES = 4
RNG = np.random.default_rng(0)
X = RNG.normal(size=(32, N_FEATURES)).astype("float32")
Y = (X.sum(axis=1, keepdims=True) > 0).astype("float32")


@pytest.fixture(autouse=True)
def _seed() -> None:
    keras.utils.set_random_seed(7)


def rebuild(
    model: keras.Model,
    *,
    dropout_rate: float = 0.0,
    l2: float = 0.0,
    input_steps: tuple[Any, ...] = (),
    x_train: Any = None,
) -> RebuiltModel:
    """The rebuild with the edits the dropout, l2, impute and standardize fixes make."""
    recipe = ModelRecipe(model_kind(model), model, normalizes_inputs(model))
    edits: list[PlanEdit] = []
    if dropout_rate:
        edits.append(DropoutAfterHidden("dropout", dropout_rate))
    if l2:
        edits.append(KernelPenalty("l2", l2=l2))
    edits.extend(PrependInputStep(step, step) for step in input_steps)
    return fresh_model(recipe, edits, x_train=x_train)


def predict(model: keras.Model, x: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict(x, verbose=0))


def kinds(model: keras.Model) -> list[str]:
    return [type(layer).__name__ for layer in model.layers]


def custom_loss(y_true: Any, y_pred: Any) -> Any:
    """A plain function, as users write them: Keras cannot deserialise it by name."""
    return keras.ops.mean(keras.ops.square(y_true - y_pred))


# ---- models ---------------------------------------------------------------------------------


def sequential_mlp() -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((N_FEATURES,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(1),
            keras.layers.Activation("sigmoid"),
        ]
    )


def functional_mlp() -> keras.Model:
    inputs = keras.Input((N_FEATURES,))
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    hidden = keras.layers.Dense(8, activation="relu")(hidden)
    logits = keras.layers.Dense(1)(hidden)
    return keras.Model(inputs, keras.layers.Activation("sigmoid")(logits))


class KwargsNet(keras.Model):
    """Well-formed subclassed model: **kwargs and a get_config with every __init__ argument."""

    def __init__(self, units: int = 16, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = units
        self.norm = keras.layers.Normalization()
        self.hidden = keras.layers.Dense(units, activation="relu")
        self.out = keras.layers.Dense(1)

    def call(self, x: Any) -> Any:
        return self.out(self.hidden(self.norm(x)))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units}


class NoKwargsNet(keras.Model):
    def __init__(self, units: int = 8) -> None:
        super().__init__()
        self.hidden = keras.layers.Dense(units)

    def call(self, x: Any) -> Any:
        return self.hidden(x)


class NoConfigNet(keras.Model):
    """Has **kwargs but no get_config: Keras recreates it with the __init__ defaults."""

    def __init__(self, units: int = 8, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hidden = keras.layers.Dense(units)

    def call(self, x: Any) -> Any:
        return self.hidden(x)


def built(model: keras.Model) -> keras.Model:
    model(X[:2])
    return model


MLPS = pytest.mark.parametrize("make", [sequential_mlp, functional_mlp], ids=["seq", "func"])


# ---- fresh weights, source untouched ---------------------------------------------------------


@MLPS
def test_source_model_is_left_unchanged(make: Callable[[], keras.Model]) -> None:
    source = make()
    weights = [w.copy() for w in source.get_weights()]
    config = source.get_config()

    rebuild(source, dropout_rate=0.5, l2=0.01, input_steps=("impute", "standardize"), x_train=X)

    assert not source.compiled
    assert source.get_config() == config
    assert len(source.get_weights()) == len(weights)
    for before, after in zip(weights, source.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)


@MLPS
def test_rebuilt_model_has_fresh_weights_and_is_not_compiled(
    make: Callable[[], keras.Model],
) -> None:
    source = make()
    source.compile(optimizer="adam", loss=custom_loss)  # clone_model would fail on this loss

    rebuilt = rebuild(source)

    assert not rebuilt.model.compiled
    assert rebuilt.notes == ()
    assert kinds(rebuilt.model) == kinds(source)
    pairs = zip(source.get_weights(), rebuilt.model.get_weights(), strict=True)
    kernels = [(old, new) for old, new in pairs if old.ndim == 2]  # biases start at 0 anyway
    assert kernels
    for old, new in kernels:
        assert old.shape == new.shape
        assert not np.allclose(old, new)


def test_same_seed_gives_same_fresh_weights() -> None:
    source = sequential_mlp()
    keras.utils.set_random_seed(3)
    first = rebuild(source).model.get_weights()
    keras.utils.set_random_seed(3)
    second = rebuild(source).model.get_weights()
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


# ---- preprocessing state --------------------------------------------------------------------


def adapted_normalization() -> keras.layers.Normalization:
    layer = keras.layers.Normalization()
    layer.adapt(X * 100.0 + 50.0)
    return layer


def normalized_sequential() -> keras.Model:
    return keras.Sequential(
        [keras.Input((N_FEATURES,)), adapted_normalization(), keras.layers.Dense(4)]
    )


def normalized_nested_functional() -> keras.Model:
    preprocessing = keras.Sequential([keras.Input((N_FEATURES,)), adapted_normalization()])
    inputs = keras.Input((N_FEATURES,))
    return keras.Model(inputs, keras.layers.Dense(4)(preprocessing(inputs)))


def normalized_subclassed() -> keras.Model:
    model = KwargsNet(units=5)
    model.norm.adapt(X * 100.0 + 50.0)
    return built(model)


def normalization_of(model: keras.Model) -> keras.layers.Normalization:
    """The one Normalization layer, wherever nested."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found.append(normalization_of(layer))
        elif isinstance(layer, keras.layers.Normalization):
            found.append(layer)
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize(
    "make",
    [normalized_sequential, normalized_nested_functional, normalized_subclassed],
    ids=["seq", "nested-func", "subclassed"],
)
def test_adapted_normalization_keeps_its_mean_and_variance(
    make: Callable[[], keras.Model],
) -> None:
    source = make()
    rebuilt = rebuild(source).model
    old, new = normalization_of(source), normalization_of(rebuilt)

    np.testing.assert_allclose(new.get_weights()[0], old.get_weights()[0])  # mean
    np.testing.assert_allclose(new.get_weights()[1], old.get_weights()[1])  # variance
    raw = X * 100.0 + 50.0
    np.testing.assert_allclose(new(raw), old(raw), rtol=1e-5)
    assert abs(float(np.mean(new(raw)))) < 0.1
    assert normalizes_inputs(rebuilt)


def test_adapted_string_lookup_keeps_its_vocabulary() -> None:
    words = np.array([["red"], ["green"], ["blue"], ["red"]])
    lookup = keras.layers.StringLookup(output_mode="one_hot")
    lookup.adapt(words)
    inputs = keras.Input((1,), dtype="string")
    source = keras.Model(inputs, keras.layers.Dense(2)(lookup(inputs)))

    new_lookup = rebuild(source).model.layers[1]

    assert new_lookup.get_vocabulary() == lookup.get_vocabulary()
    np.testing.assert_array_equal(new_lookup(words), lookup(words))


TEXTS = np.array([["good film"], ["bad movie"], ["good good plot"], ["awful plot"]], dtype=object)


def adapted(layer: keras.layers.Layer, data: np.ndarray) -> keras.layers.Layer:
    layer.adapt(data)
    return layer


@pytest.mark.parametrize(
    ("make", "data", "dtype"),
    [
        (
            lambda: keras.layers.TextVectorization(output_mode="int", output_sequence_length=3),
            TEXTS,
            "string",
        ),
        (lambda: keras.layers.TextVectorization(output_mode="multi_hot"), TEXTS, "string"),
        (lambda: keras.layers.TextVectorization(output_mode="tf_idf"), TEXTS, "string"),
        (
            lambda: keras.layers.IntegerLookup(output_mode="count"),
            np.array([[3], [7], [3], [9]]),
            "int64",
        ),
        (lambda: keras.layers.Discretization(num_bins=3), X[:, :1] * 10.0, "float32"),
    ],
    ids=["text-int", "text-multi-hot", "text-tf-idf", "integer-lookup", "discretization"],
)
def test_adapted_preprocessing_layers_keep_their_state(
    make: Callable[[], keras.layers.Layer], data: np.ndarray, dtype: str
) -> None:
    layer = adapted(make(), data)
    inputs = keras.Input((1,), dtype=dtype)
    source = keras.Model(inputs, keras.layers.Dense(2)(layer(inputs)))

    new_layer = rebuild(source).model.layers[1]

    assert new_layer is not layer
    np.testing.assert_allclose(new_layer(data), layer(data), rtol=1e-6)


def lambda_net() -> keras.Model:
    return keras.Sequential(
        [keras.Input((N_FEATURES,)), keras.layers.Lambda(lambda t: t * 2.0), keras.layers.Dense(2)]
    )


def test_a_lambda_layer_is_rebuilt_from_its_own_function() -> None:
    source = lambda_net()
    new = rebuild(source).model.layers[0]
    assert isinstance(new, keras.layers.Lambda) and new is not source.layers[0]
    assert new.function is source.layers[0].function
    np.testing.assert_allclose(new(X), X * 2.0)


class ApplyFunction(keras.layers.Layer):
    """A custom layer given a function: Keras cannot describe it by a config."""

    def __init__(self, function: Callable[[Any], Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.function = function

    def call(self, inputs: Any) -> Any:
        return self.function(inputs)


class UnconfigurableDense(keras.layers.Layer):
    """A custom layer with weights and an ``__init__`` without ``**kwargs``."""

    def __init__(self, units: int) -> None:
        super().__init__()
        self.units = units

    def build(self, input_shape: Any) -> None:
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units))

    def call(self, inputs: Any) -> Any:
        return keras.ops.matmul(inputs, self.kernel)


def test_a_weightless_custom_layer_without_a_config_is_shared_as_it_is() -> None:
    layer = ApplyFunction(lambda t: t + 1.0)
    source = keras.Sequential([keras.Input((N_FEATURES,)), layer, keras.layers.Dense(2)])
    rebuilt = rebuild(source).model
    assert rebuilt.layers[0] is layer
    assert rebuilt.layers[1] is not source.layers[1]


def test_a_custom_layer_with_weights_keras_cannot_recreate_is_refused_in_one_line() -> None:
    source = keras.Sequential([keras.Input((N_FEATURES,)), UnconfigurableDense(3)])
    with pytest.raises(AdvisorError, match=r"cannot rebuild layer .* \(UnconfigurableDense\)"):
        rebuild(source)


# ---- L2 and Dropout -------------------------------------------------------------------------


def test_l2_goes_on_every_dense_and_conv_layer_including_the_output() -> None:
    source = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3),
            keras.layers.Flatten(),
            keras.layers.Dense(8),
            keras.layers.Dense(1),
        ]
    )

    model = rebuild(source, l2=0.01).model

    regularized = [layer for layer in model.layers if hasattr(layer, "kernel_regularizer")]
    assert kinds(model) == ["Conv2D", "Flatten", "Dense", "Dense"]
    assert len(regularized) == 3
    for layer in regularized:
        regularizer = layer.get_config()["kernel_regularizer"]
        assert regularizer["class_name"] == "L2"
        assert regularizer["config"]["l2"] == pytest.approx(0.01)
    model(np.zeros((2, 8, 8, 1), dtype="float32"))
    assert len(model.losses) == 3


@MLPS
def test_dropout_follows_hidden_dense_layers_only(make: Callable[[], keras.Model]) -> None:
    rebuilt = rebuild(make(), dropout_rate=0.3)

    expected = ["Dense", "Dropout", "Dense", "Dropout", "Dense", "Activation"]
    assert [k for k in kinds(rebuilt.model) if k != "InputLayer"] == expected
    dropouts = [layer for layer in rebuilt.model.layers if isinstance(layer, keras.layers.Dropout)]
    assert all(layer.rate == pytest.approx(0.3) for layer in dropouts)
    assert rebuilt.notes == ()


def test_model_without_hidden_dense_gets_a_note_instead_of_dropout() -> None:
    source = keras.Sequential([keras.Input((N_FEATURES,)), keras.layers.Dense(1)])

    rebuilt = rebuild(source, dropout_rate=0.3)

    assert "Dropout" not in kinds(rebuilt.model)
    assert rebuilt.notes == (f"dropout not applied: the model has {NO_DROPOUT_SITE}",)


# ---- input steps ----------------------------------------------------------------------------


def with_missing(x: np.ndarray) -> np.ndarray:
    x = x.copy()
    x[::3, 0] = np.nan
    x[1, 1] = np.inf
    x[2, 2] = -np.inf
    return x


def test_impute_makes_nan_and_inf_inputs_give_finite_predictions() -> None:
    source = keras.Sequential(
        [keras.Input((N_FEATURES,)), keras.layers.Dense(4), keras.layers.Dense(1)]
    )
    x = with_missing(X)
    x[:, 3] = np.nan  # a feature with no value at all

    model = rebuild(source, input_steps=("impute",), x_train=x).model

    assert np.isnan(predict(source, x)).any()
    assert np.isfinite(predict(model, x)).all()


def test_standardize_gives_wine_like_features_mean_zero_and_unit_std() -> None:
    scales = np.array([0.1, 5.0, 100.0, 1000.0], dtype="float32")
    x = (X * scales + scales * 3).astype("float32")
    x[:, 1] = 7.0  # constant feature: must not divide by ~0

    model = rebuild(sequential_mlp(), input_steps=("standardize",), x_train=x).model
    standardized = np.asarray(model.get_layer("standardize")(x))

    assert np.isfinite(standardized).all()
    np.testing.assert_allclose(standardized.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(standardized[:, [0, 2, 3]].std(axis=0), 1.0, atol=1e-3)
    np.testing.assert_allclose(standardized[:, 1], 0.0, atol=1e-6)


def test_impute_then_standardize_fits_statistics_on_imputed_values() -> None:
    x = with_missing(X * 10.0)

    model = rebuild(sequential_mlp(), input_steps=("impute", "standardize"), x_train=x).model
    normalization = model.get_layer("standardize")

    assert np.isfinite(normalization.mean).all()
    assert np.isfinite(normalization.variance).all()
    assert np.isfinite(predict(model, x)).all()


def test_input_steps_work_per_position_on_image_like_inputs() -> None:
    images = RNG.normal(size=(24, 8, 8)).astype("float32") * 50.0
    images[:5, 0, 0] = np.nan
    source = keras.Sequential(
        [keras.Input((8, 8)), keras.layers.Flatten(), keras.layers.Dense(4), keras.layers.Dense(1)]
    )

    model = rebuild(source, input_steps=("impute", "standardize"), x_train=images).model

    assert model.input_shape == (None, 8, 8)
    assert np.isfinite(predict(model, images)).all()


def test_input_steps_need_training_data() -> None:
    with pytest.raises(ValueError, match="x_train is required"):
        rebuild(sequential_mlp(), input_steps=("impute",))


def test_multi_input_model_gets_input_steps_per_input() -> None:
    left, right = keras.Input((2,)), keras.Input((2,))
    merged = keras.layers.Concatenate()([left, right])
    source = keras.Model([left, right], keras.layers.Dense(1)(merged))
    parts = [with_missing(X)[:, :2], X[:, 2:] * 100.0]  # gaps on the left, scale on the right

    rebuilt = rebuild(source, input_steps=("impute", "standardize"), x_train=parts)

    assert len(rebuilt.model.inputs) == 2
    assert rebuilt.notes == ()
    assert np.all(np.isfinite(rebuilt.model.predict(parts, verbose=0)))
    right_scaled = rebuilt.model.get_layer("standardize_1")(parts[1])
    assert np.allclose(np.mean(np.asarray(right_scaled), axis=0), 0.0, atol=1e-4)


# ---- the whole rewrite trains, saves and loads ------------------------------------------------


@MLPS
def test_fully_rewritten_model_trains_and_survives_save_and_load(
    make: Callable[[], keras.Model], tmp_path: Path
) -> None:
    x = with_missing(X * 100.0)
    rebuilt = rebuild(
        make(), dropout_rate=0.2, l2=0.001, input_steps=("impute", "standardize"), x_train=x
    )
    model = rebuilt.model
    model.compile(optimizer="adam", loss="binary_crossentropy")
    history = model.fit(x, Y, epochs=1, batch_size=16, verbose=0)
    loss = model.evaluate(x, Y, verbose=0)

    path = tmp_path / "rewritten.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)

    assert rebuilt.notes == ()
    assert np.isfinite(history.history["loss"]).all() and np.isfinite(loss)
    np.testing.assert_allclose(predict(loaded, x), predict(model, x), rtol=1e-6)


# ---- subclassed models ----------------------------------------------------------------------


def test_well_formed_subclassed_model_is_rebuilt_without_layer_rewrites() -> None:
    source = normalized_subclassed()
    source.compile(optimizer="adam", loss=custom_loss)

    rebuilt = rebuild(source, dropout_rate=0.3, l2=0.01)

    assert type(rebuilt.model) is KwargsNet
    assert not rebuilt.model.compiled
    assert [w.shape for w in rebuilt.model.weights] == [w.shape for w in source.weights]
    assert not np.allclose(rebuilt.model.hidden.kernel, source.hidden.kernel)
    assert rebuilt.notes == (
        "dropout not applied: subclassed models cannot be rewritten layer by layer",
        "L2 not applied: subclassed models cannot be rewritten layer by layer",
    )
    rebuilt.model.compile(optimizer="adam", loss="mse")
    rebuilt.model.fit(X, Y, epochs=1, verbose=0)


def test_subclassed_model_without_kwargs_is_rebuilt_by_calling_its_class_again() -> None:
    """Keras' from_config passes ``trainable`` to an ``__init__`` that takes no kwargs (the
    way training scripts write one); the class is called again instead, with the arguments
    capture saw it made with, or with none."""
    with pytest.raises(TypeError, match="trainable"):
        NoKwargsNet.from_config(built(NoKwargsNet()).get_config())
    plain = built(NoKwargsNet())
    again = rebuild(plain).model
    assert type(again) is NoKwargsNet and again is not plain
    assert [w.shape for w in again.weights] == [w.shape for w in plain.weights]
    assert not np.allclose(again.hidden.kernel, plain.hidden.kernel)
    with constructor_args_recorded():
        wide = built(NoKwargsNet(16))
    assert rebuild(wide).model.hidden.units == 16


def test_subclassed_model_without_kwargs_made_with_unknown_arguments_is_refused() -> None:
    """Made outside capture with other arguments than its defaults: never the wrong model."""
    with pytest.raises(AdvisorError) as caught:
        rebuild(built(NoKwargsNet(16)))

    message = str(caught.value)
    assert message.startswith("cannot rebuild subclassed model NoKwargsNet with fresh weights")
    assert "other weight shapes" in message and "\n" not in message


def test_subclassed_model_whose_config_misses_init_arguments_is_refused() -> None:
    with pytest.raises(AdvisorError, match=r"NoConfigNet.*does not return all the __init__"):
        rebuild(built(NoConfigNet(units=3)))


def test_subclassed_model_input_steps_use_its_build_shape() -> None:
    source = normalized_subclassed()

    rebuilt = rebuild(source, input_steps=("impute",), x_train=with_missing(X))

    assert rebuilt.notes == ()
    assert np.isfinite(predict(rebuilt.model, with_missing(X))).all()


# ---- model_kind and normalizes_inputs --------------------------------------------------------


def test_model_kind() -> None:
    assert model_kind(sequential_mlp()) == "sequential"
    assert model_kind(functional_mlp()) == "functional"
    assert model_kind(KwargsNet()) == "subclassed"


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (sequential_mlp, False),
        (normalized_sequential, True),
        (normalized_nested_functional, True),
        (normalized_subclassed, True),
        (
            lambda: keras.Sequential(
                [
                    keras.Input((8, 8, 3)),
                    keras.layers.Resizing(4, 4),
                    keras.layers.Rescaling(1 / 255),
                ]
            ),
            True,
        ),
        (
            lambda: keras.Sequential(
                [keras.Input((N_FEATURES,)), keras.layers.Dense(4), keras.layers.Normalization()]
            ),
            False,
        ),
    ],
    ids=["plain", "seq", "nested", "subclassed", "rescaling-after-resizing", "after-dense"],
)
def test_normalizes_inputs(make: Callable[[], keras.Model], expected: bool) -> None:
    assert normalizes_inputs(make()) is expected

