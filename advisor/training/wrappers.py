"""Wrappers around a rebuilt model: input steps in front (imputation, standardisation),
augmentation in front, and the output scale behind (a model trained on standardised targets
predicting in the user's units).

Built from Keras ops and built-in layers only, so a wrapped model saves and loads with plain
``keras.saving.load_model``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, get_args

import keras
import numpy as np
import numpy.typing as npt
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import StandardScaler

from advisor.arrays import CHUNK_VALUES, Structure, is_several, parts
from advisor.keras_model.inspect import input_shapes, token_inputs
from advisor.plan_edits import InputStepName, LayerSpec

Array = npt.NDArray[Any]

# Each step adds its operation on the symbolic input and returns the training data as that
# operation transforms it, so the next step is fitted on what it will actually see.
_Step = Callable[[Any, Array, str], tuple[Any, Array]]


def prepend_input_steps(
    model: keras.Model, source: keras.Model, steps: Sequence[InputStepName], x_train: Structure
) -> keras.Model:
    """Wrap the model so that it takes the user's raw inputs and preprocesses them itself.

    Each numeric input is preprocessed on its own statistics; token ids and strings pass
    through untouched. The wrapper takes the same structure (one array, a list, a dict by
    input name) as the user's model. Built from Keras ops and Normalization layers only, so
    the saved model loads without this package.
    """
    raw = _raw_inputs(source, x_train)
    ordered = [step for step in _STEPS if step in steps]
    tensors: list[Any] = []
    for index, (tensor, data, is_token) in enumerate(raw):
        suffix = "" if len(raw) == 1 else f"_{index}"
        if not is_token:
            values = _at_rank(np.asarray(data, dtype="float32"), len(tensor.shape))
            for step in ordered:
                tensor, values = _STEPS[step](tensor, values, f"{step}{suffix}")
        tensors.append(tensor)
    inputs = [tensor for tensor, _, _ in raw]
    names = [name for name, _ in parts(x_train)]
    return keras.Model(
        _like(x_train, names, inputs),
        model(_like(x_train, names, tensors)),
        name=f"{source.name}_with_input_steps",
    )


def with_output_scale(model: keras.Model, mean: float, std: float, x: Structure) -> keras.Model:
    """``model`` followed by ``y * std + mean``: trained on standardised targets, it then
    predicts in the user's units. A Rescaling layer, so the saved model needs no custom code."""
    inputs = [tensor for tensor, _, _ in _raw_inputs(model, x)]
    names = [name for name, _ in parts(x)]
    structured = _like(x, names, inputs)
    unscale = keras.layers.Rescaling(scale=std, offset=mean, name="unscale_target")
    return keras.Model(structured, unscale(model(structured)), name=f"{model.name}_in_user_units")


def target_moments(y: Array) -> tuple[float, float]:
    """Mean and standard deviation of the finite targets (1 when they do not vary)."""
    finite = np.asarray(y, dtype="float64")
    finite = finite[np.isfinite(finite)]
    std = float(finite.std()) if finite.size else 1.0
    return (float(finite.mean()) if finite.size else 0.0), (std if std > 0 else 1.0)


def _raw_inputs(source: keras.Model, x: Structure) -> list[tuple[Any, Any, bool]]:
    """A new ``keras.Input`` per part of ``x`` shaped like the model's input, with that part's
    data and whether it is tokens (which keep their dtype; numeric inputs come as float32)."""
    data_parts = parts(x)
    # A subclassed model that was never called does not know its input shapes; the data does.
    shapes = input_shapes(source)
    if shapes is None or len(shapes) != len(data_parts):
        shapes = [(None, *np.shape(data)[1:]) for _, data in data_parts]
    found = []
    for index, ((name, data), shape, is_token) in enumerate(
        zip(data_parts, shapes, token_inputs(source, x), strict=True)
    ):
        suffix = "" if len(data_parts) == 1 else f"_{index}"
        # Named inputs keep their names: Keras matches a dict of arrays to inputs by name.
        dtype = _dtype(data) if is_token else "float32"
        tensor = keras.Input(tuple(shape)[1:], name=name or f"raw_input{suffix}", dtype=dtype)
        found.append((tensor, data, is_token))
    return found


def _like(x: Structure, names: list[str | None], tensors: list[Any]) -> Any:
    """``tensors`` in the structure of the user's inputs: one, a list, or a dict by name."""
    if isinstance(x, Mapping):
        return dict(zip(names, tensors, strict=True))
    return tensors if is_several(x) else tensors[0]


def _dtype(data: Array) -> str:
    return "string" if np.asarray(data).dtype.kind in "USO" else str(np.asarray(data).dtype)


def _at_rank(data: Array, rank: int) -> Array:
    """The data as the model sees it: Keras gives ``(n,)`` inputs to an ``Input((1,))`` model
    as ``(n, 1)``, so statistics are per feature of that shape, not one per sample."""
    return data[..., None] if data.ndim == rank - 1 else data


def _impute(tensor: Any, data: Array, name: str) -> tuple[Any, Array]:
    """Replace NaN and ±inf by the training mean of the same input position."""
    fill = _fill_values(data)
    imputed = keras.ops.where(keras.ops.isfinite(tensor), tensor, fill)
    return imputed, np.where(np.isfinite(data), data, fill)


def _fill_values(data: Array) -> Array:
    """Per-position means of the finite training values; 0 where a position has none."""
    flat = data.reshape(len(data), -1)
    missing_as_nan = np.where(np.isfinite(flat), flat, np.nan)
    imputer = SimpleImputer(strategy="mean", keep_empty_features=True).fit(missing_as_nan)
    fill: Array = imputer.statistics_.reshape(data.shape[1:]).astype("float32")
    return fill


def _standardize(tensor: Any, data: Array, name: str) -> tuple[Any, Array]:
    """Scale each feature (last axis) to mean 0 and variance 1 on the training data."""
    mean, variance = _feature_moments(data)
    layer = keras.layers.Normalization(axis=-1, mean=mean, variance=variance, name=name)
    return layer(tensor), (data - mean) / np.sqrt(variance)


def _feature_moments(data: Array) -> tuple[Array, Array]:
    """Mean and variance per feature (last axis) from scikit-learn's ``StandardScaler``.

    The scaler disregards NaN when fitting; inf is treated as NaN here so it cannot make the
    statistics non-finite. A constant feature gets variance 1 (the scaler's own ``scale_`` of 1)
    and an all-missing one mean 0 and variance 1, so the Normalization never divides by ~0.
    Fitted in chunks (``partial_fit``), so an image dataset is never copied whole as float64.
    """
    features = data.reshape(-1, data.shape[-1])
    scaler = StandardScaler()
    chunk = max(1, CHUNK_VALUES // features.shape[1])
    with np.errstate(invalid="ignore", divide="ignore"):  # all-missing features: handled below
        for start in range(0, len(features), chunk):
            block = features[start : start + chunk].astype("float64")
            scaler.partial_fit(np.where(np.isfinite(block), block, np.nan))
    mean = np.nan_to_num(scaler.mean_, nan=0.0)
    variance = np.nan_to_num(scaler.scale_, nan=1.0) ** 2
    return mean.astype("float32"), variance.astype("float32")


# In the order the steps run: imputation first, or NaN would poison the statistics.
_STEPS: dict[str, _Step] = dict(zip(get_args(InputStepName), (_impute, _standardize), strict=True))


def prepend_augmentation(
    model: keras.Model, source: keras.Model, augmentation: Sequence[LayerSpec]
) -> tuple[keras.Model, tuple[str, ...]]:
    """Wrap the model behind Keras' random image layers, which change images in training only
    (``fit``) and pass them through unchanged in ``predict`` and ``evaluate``."""
    shapes = input_shapes(source)
    if shapes is None or len(shapes) != 1:
        return model, ("augmentation not applied: the model has no single known input shape",)
    inputs = keras.Input(shape=tuple(shapes[0])[1:], name="image")
    tensor = inputs
    for spec in augmentation:
        tensor = getattr(keras.layers, spec.name)(**spec.kwargs)(tensor)
    return keras.Model(inputs, model(tensor), name=f"{source.name}_augmented"), ()
