"""Read-only facts about a Keras model: what kind it is, which layers are hidden, where a rewrite
would land, which inputs are tokens. Nothing here builds, compiles or changes a model.

Capture reads these facts into the plan's :class:`~advisor.plan.ModelRecipe` (so fixes can
decide whether they fit without Keras); the graph rewrite uses the same predicates, so what is
counted here and what the rewrite does cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from advisor.arrays import Structure, parts
from advisor.plan import ModelKind, ModelRecipe

# Layers with a `kernel_regularizer`, which is where L1/L2 go; the hidden Dense/Conv ones also
# get the activation swap, BatchNormalization and widening.
KERNEL_LAYERS = (
    keras.layers.Dense,
    keras.layers.Conv1D,
    keras.layers.Conv2D,
    keras.layers.Conv3D,
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose,
    keras.layers.LSTM,
    keras.layers.GRU,
    keras.layers.SimpleRNN,
)
# Recurrent layers get dropout on their recurrent state (`recurrent_dropout`), not after them.
RECURRENT_LAYERS = (keras.layers.LSTM, keras.layers.GRU, keras.layers.SimpleRNN)
# Where a conv or sequence model's features become one vector: a Dropout goes right after.
FEATURE_VECTOR_LAYERS = (
    keras.layers.Flatten,
    keras.layers.GlobalAveragePooling1D,
    keras.layers.GlobalAveragePooling2D,
    keras.layers.GlobalAveragePooling3D,
    keras.layers.GlobalMaxPooling1D,
    keras.layers.GlobalMaxPooling2D,
    keras.layers.GlobalMaxPooling3D,
)
INPUT_SCALING_LAYERS = (keras.layers.Normalization, keras.layers.Rescaling)
LOOKUP_LAYERS = (keras.layers.StringLookup, keras.layers.IntegerLookup)
# Weightless layers after the output Dense that would apply an activation of their own.
ACTIVATION_LAYERS = (
    keras.layers.Activation,
    keras.layers.Softmax,
    keras.layers.ReLU,
    keras.layers.LeakyReLU,
    keras.layers.ELU,
)
# Layers whose inputs are indices or strings: scaling those inputs would destroy them.
TOKEN_LAYERS = (
    keras.layers.Embedding,
    keras.layers.TextVectorization,
    keras.layers.Hashing,
    keras.layers.CategoryEncoding,
    *LOOKUP_LAYERS,
)


@dataclass(frozen=True)
class Site:
    """Where a layer sits, as the rewrite sees it: a hidden Dense/Conv layer, a place for a
    Dropout after it, part of the output head (the output Dense and what follows it)."""

    hidden: bool
    dropout: bool
    head: bool = False


def model_kind(model: keras.Model) -> ModelKind:
    """How a model can be rebuilt: layer by layer, or only through its own class.

    Only Keras' own Sequential and functional classes count as such: a user class (even one
    built from a graph or deriving from Sequential) may carry its own ``call`` or
    ``train_step``, which a layer-by-layer rebuild would silently drop.
    """
    if type(model).__module__.split(".")[0] == "keras":
        if isinstance(model, keras.Sequential):
            return "sequential"
        if isinstance(model, keras.Function):
            return "functional"
    return "subclassed"


def leaf_layers(model: keras.Model) -> Iterator[keras.layers.Layer]:
    """All layers in model order, nested models replaced by their own layers."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from leaf_layers(layer)
        else:
            yield layer


def input_rescaling(model: keras.Model) -> float | None:
    """The factor by which the model's own ``Rescaling`` layers multiply its inputs before any
    learned layer (their scales multiplied), None when none does, one scales per channel or
    shifts by an offset, or a ``Normalization`` standardises them (whatever came before, its
    output is standardised). Which values the first learned layer sees decides whether the
    inputs were scaled twice."""
    factor = None
    for layer in leaf_layers(model):
        if isinstance(layer, keras.layers.Normalization):
            return None
        if isinstance(layer, keras.layers.Rescaling):
            if not isinstance(layer.scale, int | float) or layer.offset != 0:
                return None  # per channel, or shifted: not a plain factor
            factor = (1.0 if factor is None else factor) * float(layer.scale)
        elif isinstance(layer, KERNEL_LAYERS) or layer.trainable_weights:
            break
    return factor


def normalizes_inputs(model: keras.Model) -> bool:
    """Whether a Normalization or Rescaling layer sees the inputs before any learned layer.

    Scale-related advice is moot when the model already scales its inputs. Layers are scanned
    in order, looking into nested models, until the first layer with a kernel or trainable
    weights; only scaling layers before it count.
    """
    for layer in leaf_layers(model):
        if isinstance(layer, INPUT_SCALING_LAYERS):
            return True
        if isinstance(layer, KERNEL_LAYERS) or layer.trainable_weights:
            return False
    return False


def token_inputs(model: keras.Model, x: Structure) -> tuple[bool, ...]:
    """For each part of the inputs ``x``: whether it is token ids or strings.

    Such inputs go straight into an Embedding, lookup or text layer: their values are not
    magnitudes, so they are neither scale problems nor candidates for standardisation. Strings
    always are; otherwise a graph model is asked which layers consume each input, and for a
    subclassed model the first of its layers is taken as the first to see the inputs.
    """
    data_parts = parts(x)
    graph = model_kind(model) != "subclassed" and model.built
    model_inputs = list(model.inputs) if graph else []
    by_name = {tensor.name: tensor for tensor in model_inputs}
    first = next(leaf_layers(model), None)
    found = []
    for index, (name, data) in enumerate(data_parts):
        tensor = by_name.get(name or "") if name else None
        if tensor is None and index < len(model_inputs):
            tensor = model_inputs[index]
        if tensor is None:
            feeds = isinstance(first, TOKEN_LAYERS)
        else:
            feeds = any(isinstance(layer, TOKEN_LAYERS) for layer in _consumers(model, tensor))
        found.append(feeds or np.asarray(data).dtype.kind in "USO")
    return tuple(found)


def _consumers(model: keras.Model, tensor: Any) -> Iterator[keras.layers.Layer]:
    """The leaf layers that receive the model input ``tensor`` directly."""
    for layer in model.layers:
        nodes = layer._inbound_nodes  # Keras' own record of each call, as in chain_to_output
        if not any(t is tensor for node in nodes for t in node.input_tensors):
            continue
        if isinstance(layer, keras.Model):
            yield from (
                inner for inner_input in layer.inputs for inner in _consumers(layer, inner_input)
            )
        elif not isinstance(layer, keras.layers.InputLayer):
            yield layer


def model_recipe(model: keras.Model, x: Structure) -> ModelRecipe:
    """How to rebuild ``model``, and the facts about it (and its inputs ``x``) that decide
    which fixes fit."""
    dropout_sites, l2_sites = rewrite_sites(model) or (None, None)
    return ModelRecipe(
        kind=model_kind(model),
        source=model,
        normalizes_inputs=normalizes_inputs(model),
        input_rescaling=input_rescaling(model),
        layer_types=tuple(type(layer).__name__ for layer in leaf_layers(model)),
        hidden_activations=hidden_activations(model),
        output_activation=output_head(model)[0],
        token_inputs=token_inputs(model, x),
        dropout_sites=dropout_sites,
        l2_sites=l2_sites,
        dropout_rates=own_dropout_rates(model),
        kernel_penalties=sum(
            getattr(layer, "kernel_regularizer", None) is not None for layer in leaf_layers(model)
        ),
    )


def own_dropout_rates(model: keras.Model) -> tuple[float, ...]:
    """The rates of the model's own Dropout layers and recurrent dropout, those above 0."""
    rates = []
    for layer in leaf_layers(model):
        if isinstance(layer, keras.layers.Dropout):
            rates.append(float(layer.rate))
        if isinstance(layer, RECURRENT_LAYERS):
            rates.append(float(layer.recurrent_dropout))
    return tuple(rate for rate in rates if rate > 0)


def rewrite_sites(model: keras.Model) -> tuple[int, int] | None:
    """How many places dropout and a kernel penalty would go (None for a subclassed model):
    the sites the graph rewrite finds with the same predicates, nested graph models included.
    A fix with no place to go is skipped, not trained."""
    kind = model_kind(model)
    if kind == "subclassed":
        return None
    output = output_layers(model, kind)
    dropouts = penalties = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            inner = rewrite_sites(layer) or (0, 0)
            dropouts, penalties = dropouts + inner[0], penalties + inner[1]
            continue
        dropouts += is_dropout_site(layer, output) + isinstance(layer, RECURRENT_LAYERS)
        penalties += isinstance(layer, KERNEL_LAYERS)
    return dropouts, penalties


def hidden_activations(model: keras.Model) -> tuple[str, ...]:
    """The activation of each hidden Dense/Conv layer (those a rebuild rewrites), nested models
    included; empty for a subclassed model, whose layers cannot be rewritten."""
    kind = model_kind(model)
    if kind == "subclassed":
        return ()
    output = output_layers(model, kind)
    found: list[str] = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found.extend(hidden_activations(layer))
        elif is_hidden_kernel(layer, output):
            activation = layer.get_config().get("activation")
            found.append(activation if isinstance(activation, str) else "custom")
    return tuple(found)


def layer_site(layer: keras.layers.Layer, output: set[int], head: frozenset[int]) -> Site:
    return Site(
        hidden=is_hidden_kernel(layer, output),
        dropout=is_dropout_site(layer, output),
        head=id(layer) in head,
    )


def is_hidden_kernel(layer: keras.layers.Layer, output_layers: set[int]) -> bool:
    """A hidden Dense/Conv layer (a recurrent layer's activation is inside its cell: it is
    neither swapped nor moved behind a BatchNormalization)."""
    return (
        isinstance(layer, KERNEL_LAYERS)
        and not isinstance(layer, RECURRENT_LAYERS)
        and id(layer) not in output_layers
    )


def is_dropout_site(layer: keras.layers.Layer, output_dense: set[int]) -> bool:
    """A hidden Dense, or where conv/sequence features are flattened or pooled into a vector
    (dropout on conv feature maps themselves mostly slows training without regularising)."""
    if isinstance(layer, keras.layers.Dense):
        return id(layer) not in output_dense
    return isinstance(layer, FEATURE_VECTOR_LAYERS)


def output_layers(model: keras.Model, kind: ModelKind) -> set[int]:
    """Ids of the Dense (or Conv) layers that make the model's outputs, looking back through
    weightless layers. Dropout must not go between that Dense and e.g. a final
    ``Activation("sigmoid")``, and the output layer keeps its activation whatever the fixes do
    to hidden ones."""
    if kind == "sequential":
        for layer in reversed(model.layers):
            if isinstance(layer, KERNEL_LAYERS):
                return {id(layer)}
            if layer.weights:
                break
        return set()
    found: set[int] = set()
    for tensor in model.outputs:
        chain = chain_to_output(tensor)
        if chain and isinstance(chain[0], KERNEL_LAYERS):
            found.add(id(chain[0]))
    return found


def chain_to_output(tensor: Any) -> list[Any]:
    """The operations from the last weighted one to ``tensor``, in model order.

    Keras has no public way to walk a graph backwards; this reads the ``_keras_history`` that
    each symbolic tensor carries, the same record Keras uses to rebuild the graph.
    """
    chain: list[Any] = []
    while True:
        operation, node_index, _ = tensor._keras_history
        chain.insert(0, operation)
        inputs = operation._inbound_nodes[node_index].input_tensors
        weighted = getattr(operation, "weights", None)
        if isinstance(operation, KERNEL_LAYERS) or weighted or len(inputs) != 1:
            return chain
        tensor = inputs[0]


def head_layers(model: keras.Model) -> tuple[keras.layers.Layer, ...]:
    """The output Dense layer and the weightless layers after it (``Activation``...), in order.

    Empty when the output is not made by a Dense layer, when the model has several outputs, or
    when it is subclassed (its layers cannot be seen from outside).
    """
    kind = model_kind(model)
    if kind == "subclassed":
        return ()
    if kind == "sequential":
        layers = list(model.layers)
        dense = output_layers(model, kind)
        start = next((i for i, layer in enumerate(layers) if id(layer) in dense), None)
        return () if start is None else tuple(layers[start:])
    return _dense_chain(model.outputs[0]) if len(model.outputs) == 1 else ()


def _dense_chain(output: Any) -> tuple[keras.layers.Layer, ...]:
    """The output Dense layer making ``output`` and the weightless layers after it; empty
    when ``output`` is not made by a Dense layer."""
    chain = chain_to_output(output)
    return tuple(chain) if isinstance(chain[0], keras.layers.Dense) else ()


def last_hidden_dense(model: keras.Model, kind: ModelKind) -> keras.layers.Layer | None:
    """The last hidden Dense layer of a graph model in layer order, where extra hidden layers
    like it go (None when there is none)."""
    output = output_layers(model, kind)
    dense = [
        layer
        for layer in model.layers
        if isinstance(layer, keras.layers.Dense) and is_hidden_kernel(layer, output)
    ]
    return dense[-1] if dense else None


def input_shapes(model: keras.Model) -> list[Any] | None:
    """Batch shapes of the model's inputs, or None when it has never been built."""
    if not model.built:
        return None
    if model_kind(model) != "subclassed":
        return [tensor.shape for tensor in model.inputs]
    build_config = model.get_build_config() or {}
    if "shapes_dict" in build_config:
        return list(build_config["shapes_dict"].values())
    shape = build_config.get("input_shape")
    if shape is None:
        return None
    return list(shape) if isinstance(shape[0], (list, tuple)) else [shape]


_LINEAR = "linear"


def output_heads(model: Any) -> tuple[tuple[str | None, int | None], ...]:
    """:func:`output_head` of each output of a functional model with several, in the order of
    ``model.output_names``; empty for a subclassed model or a single output."""
    if model_kind(model) != "functional" or len(model.outputs) < 2:
        return ()
    return tuple(_head_of(_dense_chain(tensor)) for tensor in model.outputs)


def output_head(model: Any) -> tuple[str | None, int | None]:
    """The effective activation and the unit count of the output Dense layer, or (None, None)."""
    return _head_of(head_layers(model))


def _head_of(layers: tuple[Any, ...]) -> tuple[str | None, int | None]:
    """The effective activation and unit count of an output Dense layer and the weightless
    layers after it."""
    if not layers:
        return None, None
    activation: str | None = _LINEAR
    for layer in layers:
        config = layer.get_config()
        name = config.get("activation") if "activation" in config else _layer_activation(layer)
        if name is None or name == _LINEAR:
            continue
        # A custom activation (serialised as a dict) has a range no rule can know.
        activation = name if isinstance(name, str) else None
    return activation, int(layers[0].units)


def _layer_activation(layer: Any) -> str | None:
    """Activation layers Keras spells as their own class (``Softmax``, ``ReLU``...)."""
    return {"Softmax": "softmax", "ReLU": "relu"}.get(type(layer).__name__)
