"""A new layer like one of the user's: made in this process from the live layer, fresh weights,
the state ``adapt`` gave it kept.

Everything is built from the objects the script made, never through a saved form: a ``Lambda``
gets the user's own function object (Keras' safe mode rightly refuses to load a Python lambda
from its serialised bytecode, and that bytecode would lose the function's globals anyway), and
a custom layer is made by calling its own class. A weightless layer whose config cannot
recreate it (a custom layer given a function, say) is the same object in the new model: it has
no weights to make fresh, and Keras lets layers be shared between models.
"""

from __future__ import annotations

import tempfile
from typing import Any

import keras

from advisor.errors import AdvisorError, error_summary

Config = dict[str, Any]
LayerClass = type[keras.layers.Layer]


def layer_config(layer: keras.layers.Layer) -> Config | None:
    """The layer's config, or None for a weightless layer Keras cannot describe (one given a
    function without a ``get_config`` of its own): the caller then shares it as it is."""
    try:
        return dict(layer.get_config())
    except NotImplementedError as error:
        if layer.weights:
            raise _not_recreated(layer, error) from error
        return None


def new_layer(cls: LayerClass, config: Config, source: keras.layers.Layer) -> keras.layers.Layer:
    """A layer of class ``cls`` from ``config`` (the source's, maybe edited), like ``source``.

    Raises an :class:`AdvisorError` naming the layer when a layer with weights cannot be made
    again from its config: its weights would have to be shared with the user's model.
    """
    if issubclass(cls, keras.layers.Lambda) and isinstance(source, keras.layers.Lambda):
        new: keras.layers.Layer = cls(**_live_lambda_config(source, config))
    else:
        try:
            new = cls.from_config(config)
        except Exception as error:
            if source.weights or cls is not type(source):
                raise _not_recreated(source, error) from error
            return source
    copy_preprocessing_state(source, new)
    return new


def _not_recreated(layer: keras.layers.Layer, error: Exception) -> AdvisorError:
    return AdvisorError(
        f"cannot rebuild layer {layer.name} ({type(layer).__name__}) with fresh weights: Keras "
        "could not recreate it from its config (give its __init__ **kwargs and a get_config "
        f"returning its arguments); {error_summary(error)}"
    )


def _live_lambda_config(source: keras.layers.Lambda, config: Config) -> Config:
    """The Lambda's config with its callables as the live objects instead of their serialised
    form. ``output_shape`` is read from the attribute Keras keeps it in: there is no public
    accessor, and a callable one is in the config only as bytecode."""
    live = {**config, "function": source.function, "arguments": source.arguments}
    if "mask" in config:
        live["mask"] = source.mask
    if "output_shape" in config:
        live["output_shape"] = getattr(source, "_output_shape", config["output_shape"])
    return live


def copy_preprocessing_state(source: keras.layers.Layer, new: keras.layers.Layer) -> None:
    """Give a cloned preprocessing layer the state ``adapt`` gave the source.

    A config does not hold adapted statistics or vocabularies, so the state goes over the way a
    ``.keras`` save carries it: the layer's own variables (mean and variance, TF-IDF weights),
    then its assets (a vocabulary file), each layer loading them as it would from a file. That
    covers every adaptable layer (Normalization, Discretization, StringLookup, IntegerLookup,
    TextVectorization) without naming their internals; Hashing and CategoryEncoding adapt
    nothing and are whole in their config. Only weightless layers that ``adapt`` are touched:
    every learned weight stays fresh.
    """
    if not hasattr(source, "adapt") or source.trainable_weights:
        return
    if source.built and not new.built:
        new.build_from_config(source.get_build_config())
    variables: dict[str, object] = {}
    source.save_own_variables(variables)
    new.load_own_variables(variables)
    with tempfile.TemporaryDirectory(prefix="advisor-layer-") as assets:
        if hasattr(source, "save_assets") and hasattr(new, "load_assets"):
            source.save_assets(assets)
            new.load_assets(assets)
