"""Rebuild a subclassed model with fresh weights through its own class, and give rebuilt
preprocessing layers the state ``adapt`` gave the user's (graph rebuilds use that too).

A subclassed model is Python code Keras cannot look into: it is recreated from its config and
returned without layer rewrites (the caller notes which edits could not be made).
"""

from __future__ import annotations

import warnings

import keras

from advisor.errors import AdvisorError, error_summary
from advisor.keras_model.inspect import LOOKUP_LAYERS, leaf_layers


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
        raise AdvisorError(
            f"cannot rebuild subclassed model {name} with fresh weights: Keras could not "
            "recreate it from its config (give its __init__ **kwargs and a get_config); "
            f"{error_summary(error)}"
        ) from error
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


def copy_preprocessing_state(source: keras.layers.Layer, new: keras.layers.Layer) -> None:
    """Give a cloned preprocessing layer the state ``adapt`` gave the source.

    A config does not hold adapted statistics or vocabularies. Discretization is the exception:
    its adapted bin boundaries are in its config already.
    """
    if isinstance(source, keras.layers.Normalization):
        _copy_normalization_state(source, new)
    elif isinstance(source, LOOKUP_LAYERS):
        _copy_lookup_state(source, new)


def _copy_normalization_state(
    source: keras.layers.Normalization, new: keras.layers.Normalization
) -> None:
    """Copy adapted mean and variance; ``finalize_state`` makes ``call`` use them.

    Without ``finalize_state`` the layer keeps normalising with the values it had when built.
    """
    if source.input_mean is not None or not source.built:
        return
    if not new.built:
        new.build_from_config(source.get_build_config())
    new.set_weights(source.get_weights())
    new.finalize_state()


def _copy_lookup_state(
    source: keras.layers.StringLookup | keras.layers.IntegerLookup,
    new: keras.layers.StringLookup | keras.layers.IntegerLookup,
) -> None:
    """Copy an adapted vocabulary (and TF-IDF weights); a given one is in the config already."""
    if source.input_vocabulary is not None:
        return
    idf_weights = None
    if source.output_mode == "tf_idf":
        idf_weights = keras.ops.convert_to_numpy(source.idf_weights)
    new.set_vocabulary(source.get_vocabulary(), idf_weights=idf_weights)
