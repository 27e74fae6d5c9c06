"""Rebuild a subclassed model with fresh weights through its own class, its preprocessing
layers keeping the state ``adapt`` gave the user's.

A subclassed model is Python code Keras cannot look into: it is recreated from its config (or,
when its ``__init__`` cannot take its config back, by calling its class again with the arguments
it was made with) and returned without layer rewrites (the caller notes which edits could not be
made).
"""

from __future__ import annotations

import inspect
import warnings

import keras

from advisor.errors import AdvisorError, error_summary
from advisor.keras_model.constructor_args import constructor_args
from advisor.keras_model.inspect import leaf_layers
from advisor.training.layer_copy import copy_preprocessing_state


def rebuild_subclassed(model: keras.Model) -> keras.Model:
    """Recreate a subclassed model through its class, from its config.

    ``clone_model`` would also deserialise the compile settings, which fails for a custom loss;
    ``from_config`` is what Keras documents for subclassed models. Keras recreates a
    ``keras.Model`` subclass that has no ``get_config`` with its ``__init__`` defaults, not the
    arguments it was created with, so the new weight shapes are checked against the source's.
    """
    name = type(model).__name__
    try:
        new = type(model).from_config(model.get_config())
    except Exception as error:
        again = _constructed_again(model)
        if again is None:
            raise AdvisorError(
                f"cannot rebuild subclassed model {name} with fresh weights: Keras could not "
                "recreate it from its config (give its __init__ **kwargs and a get_config); "
                f"{error_summary(error)}"
            ) from error
        new = again
    _build_like(new, model)
    if new.weights and _weight_shapes(new) != _weight_shapes(model):
        raise AdvisorError(
            f"cannot rebuild subclassed model {name} with fresh weights: the model Keras "
            "recreated from its config has other weight shapes, so its get_config does not "
            "return all the __init__ arguments it was created with (add them to get_config)"
        )
    for source_layer, new_layer in zip(leaf_layers(model), leaf_layers(new), strict=False):
        if type(source_layer) is type(new_layer):
            copy_preprocessing_state(source_layer, new_layer)
    return new


def _constructed_again(model: keras.Model) -> keras.Model | None:
    """The model's class called again: with the arguments capture saw it made with, or with
    none when its ``__init__`` needs none (``advise(model)`` of a ``Net()``); None when neither
    is known. The weight-shape check after it catches defaults other than the user's."""
    recorded = constructor_args(model)
    if recorded is None:
        try:
            inspect.signature(type(model)).bind()
        except (TypeError, ValueError):
            return None
        recorded = ((), {})
    args, kwargs = recorded
    try:
        return type(model)(*args, **kwargs)
    except Exception:  # the user's constructor, called again, may refuse: say the first error
        return None


def _build_like(new: keras.Model, source: keras.Model) -> None:
    """Create the new model's weights for the source's input shape, if the source was built.

    Keras only warns when it cannot build a model this way; the model then builds on first
    use, and the weight-shape check that needs the weights is skipped.
    """
    build_config = source.get_build_config() if source.built else None
    if build_config:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            new.build_from_config(build_config)


def _weight_shapes(model: keras.Model) -> list[tuple[int, ...]]:
    return [tuple(weight.shape) for weight in model.weights]
