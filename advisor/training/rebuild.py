"""Rebuild the user's model with fresh weights, rewritten by the fixes a plan asks for.

This is the only place that builds a Keras model from the user's one. Every training run the
advisor makes starts from :func:`fresh_model`, so runs are compared from the same kind of start:
the user's architecture, newly initialised weights (under the caller's global seed), adapted
preprocessing state kept, and optionally L1/L2, Dropout, BatchNormalization, ReLU in place of
saturating hidden activations, image augmentation and input preprocessing added.

Sequential and functional models are rebuilt layer by layer, which is what lets fixes rewrite
them. A subclassed model is Python code Keras cannot look into: it is recreated from its config
and returned without the layer rewrites, with a note saying so.

The user's model is only read, never compiled, built, fitted or changed. A rebuilt model must
load with plain ``keras.saving.load_model``, so nothing here defines a custom layer.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
import numpy.typing as npt
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import StandardScaler

from advisor.arrays import CHUNK_VALUES, Structure, is_several, parts
from advisor.errors import AdvisorError, error_summary
from advisor.plan import (
    NO_DROPOUT_SITE,
    NO_L2_SITE,
    ActivationSwap,
    HeadSpec,
    InputStep,
    LayerSpec,
    ModelKind,
    ModelRecipe,
)

# Layers with a `kernel_regularizer`, which is where L1/L2 go; the hidden Dense/Conv ones also
# get the activation swap and BatchNormalization.
_KERNEL_LAYERS = (
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
_RECURRENT_LAYERS = (keras.layers.LSTM, keras.layers.GRU, keras.layers.SimpleRNN)
# Where a conv or sequence model's features become one vector: a Dropout goes right after.
_FEATURE_VECTOR_LAYERS = (
    keras.layers.Flatten,
    keras.layers.GlobalAveragePooling1D,
    keras.layers.GlobalAveragePooling2D,
    keras.layers.GlobalAveragePooling3D,
    keras.layers.GlobalMaxPooling1D,
    keras.layers.GlobalMaxPooling2D,
    keras.layers.GlobalMaxPooling3D,
)
_INPUT_SCALING_LAYERS = (keras.layers.Normalization, keras.layers.Rescaling)
_LOOKUP_LAYERS = (keras.layers.StringLookup, keras.layers.IntegerLookup)
# Weightless layers after the output Dense that would apply an activation of their own.
_ACTIVATION_LAYERS = (
    keras.layers.Activation,
    keras.layers.Softmax,
    keras.layers.ReLU,
    keras.layers.LeakyReLU,
    keras.layers.ELU,
)
# Layers whose inputs are indices or strings: scaling those inputs would destroy them.
_TOKEN_LAYERS = (
    keras.layers.Embedding,
    keras.layers.TextVectorization,
    keras.layers.Hashing,
    keras.layers.CategoryEncoding,
    *_LOOKUP_LAYERS,
)
_NOT_REWRITABLE = "subclassed models cannot be rewritten layer by layer"

Array = npt.NDArray[Any]


@dataclass(frozen=True)
class RebuiltModel:
    """A new, uncompiled model with fresh weights, and what of the request could not be done."""

    model: keras.Model
    notes: tuple[str, ...]


@dataclass
class _Rewrite:
    """The changes to make while cloning, and how many were made (for the notes)."""

    dropout_rate: float
    l2: float
    regularized: int = 0
    dropouts: int = 0
    head: HeadSpec | None = None
    # ids of the source's output Dense and the layers after it, which the head repair replaces
    head_ids: frozenset[int] = frozenset()
    l1: float = 0.0
    activation_swap: ActivationSwap | None = None
    batch_norm: bool = False
    swapped: int = 0
    # Activations that batch-norm moved out of hidden layers, by id of the new layer: they are
    # applied after its BatchNormalization.
    moved_activations: dict[int, Any] = field(default_factory=dict)

    def notes(self) -> tuple[str, ...]:
        notes = []
        if self.head is not None and not self.head_ids:
            notes.append("head not repaired: the model's output is not made by a Dense layer")
        if self.dropout_rate > 0 and self.dropouts == 0:
            notes.append(f"dropout not applied: the model has {NO_DROPOUT_SITE}")
        if self.l2 > 0 and self.regularized == 0:
            notes.append(f"L2 not applied: the model has {NO_L2_SITE}")
        if self.l1 > 0 and self.regularized == 0:
            notes.append(f"L1 not applied: the model has {NO_L2_SITE}")
        if self.activation_swap is not None and self.swapped == 0:
            notes.append("ReLU not applied: no hidden Dense/Conv layer uses sigmoid or tanh")
        if self.batch_norm and not self.moved_activations:
            notes.append("BatchNormalization not applied: the model has no hidden Dense/Conv layer")
        return tuple(notes)

    def requested(self) -> tuple[str, ...]:
        """The layer rewrites asked for, by the names the notes use."""
        wanted = {
            "dropout": self.dropout_rate > 0,
            "L2": self.l2 > 0,
            "L1": self.l1 > 0,
            "ReLU": self.activation_swap is not None,
            "BatchNormalization": self.batch_norm,
        }
        return tuple(name for name, asked in wanted.items() if asked)


def fresh_model(
    recipe: ModelRecipe,
    *,
    dropout_rate: float = 0.0,
    l2: float = 0.0,
    input_steps: tuple[InputStep, ...] = (),
    x_train: Structure | None = None,
    head: HeadSpec | None = None,
    l1: float = 0.0,
    activation_swap: ActivationSwap | None = None,
    batch_norm: bool = False,
    augmentation: tuple[LayerSpec, ...] = (),
) -> RebuiltModel:
    """The user's architecture with fresh weights, Dropout/L1/L2/BatchNormalization added, hidden
    activations swapped, the output layer replaced as ``head`` says, augmentation and input
    steps in front.

    Weights are initialised from Keras' global seed, which the caller sets. ``x_train`` is only
    read to fit the input steps (fill values, feature means and variances).
    """
    if not 0.0 <= dropout_rate < 1.0:
        raise ValueError(f"dropout_rate must be in [0, 1). Received dropout_rate={dropout_rate}")
    if l2 < 0 or l1 < 0:
        raise ValueError(f"l1 and l2 must be >= 0. Received l1={l1}, l2={l2}")
    if input_steps and x_train is None:
        raise ValueError(f"x_train is required to fit the input steps {input_steps}")
    rewrite = _Rewrite(
        dropout_rate, l2, l1=l1, activation_swap=activation_swap, batch_norm=batch_norm
    )
    if recipe.kind == "subclassed":
        model = _rebuild_subclassed(recipe.source)
        notes = tuple(f"{name} not applied: {_NOT_REWRITABLE}" for name in rewrite.requested())
    else:
        rewrite.head = head
        rewrite.head_ids = (
            frozenset(id(layer) for layer in head_layers(recipe.source)) if head else frozenset()
        )
        model = _rebuild_graph(recipe.source, recipe.kind, rewrite)
        notes = rewrite.notes()
    if augmentation:
        model, augmentation_notes = _prepend_augmentation(model, recipe.source, augmentation)
        notes += augmentation_notes
    if input_steps:
        assert x_train is not None  # checked above; narrows the type for mypy
        model = _prepend_input_steps(model, recipe.source, input_steps, x_train)
    return RebuiltModel(model=model, notes=notes)


@contextmanager
def user_world(source: keras.Model) -> Iterator[None]:
    """Build and compile as the user's model was: inside its ``tf.distribute`` strategy (the
    variables must be created there for its fit to be distributed) and under its dtype policy
    (so a mixed-precision model gets mixed-precision layers and loss scaling again)."""
    strategy = getattr(source, "distribute_strategy", None)
    saved_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(source.dtype_policy)
    try:
        with strategy.scope() if strategy is not None else nullcontext():
            yield
    finally:
        keras.config.set_dtype_policy(saved_policy)


def rewrite_sites(model: keras.Model) -> tuple[int, int] | None:
    """How many places dropout and L2 would be added (None for a subclassed model).

    Counted by doing the rewrite once on a throwaway clone, so the count cannot disagree with
    what :func:`fresh_model` does; a fix with no place to go is skipped, not trained.
    """
    kind = model_kind(model)
    if kind == "subclassed":
        return None
    rewrite = _Rewrite(dropout_rate=0.5, l2=1.0)
    _rebuild_graph(model, kind, rewrite)
    return rewrite.dropouts, rewrite.regularized


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


def normalizes_inputs(model: keras.Model) -> bool:
    """Whether a Normalization or Rescaling layer sees the inputs before any learned layer.

    Scale-related advice is moot when the model already scales its inputs. Layers are scanned
    in order, looking into nested models, until the first layer with a kernel or trainable
    weights; only scaling layers before it count.
    """
    for layer in _leaf_layers(model):
        if isinstance(layer, _INPUT_SCALING_LAYERS):
            return True
        if isinstance(layer, _KERNEL_LAYERS) or layer.trainable_weights:
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
    first = next(_leaf_layers(model), None)
    found = []
    for index, (name, data) in enumerate(data_parts):
        tensor = by_name.get(name or "") if name else None
        if tensor is None and index < len(model_inputs):
            tensor = model_inputs[index]
        if tensor is None:
            feeds = isinstance(first, _TOKEN_LAYERS)
        else:
            feeds = any(isinstance(layer, _TOKEN_LAYERS) for layer in _consumers(model, tensor))
        found.append(feeds or np.asarray(data).dtype.kind in "USO")
    return tuple(found)


def _consumers(model: keras.Model, tensor: Any) -> Iterator[keras.layers.Layer]:
    """The leaf layers that receive the model input ``tensor`` directly."""
    for layer in model.layers:
        nodes = layer._inbound_nodes  # Keras' own record of each call, as in _output_dense_*
        if not any(t is tensor for node in nodes for t in node.input_tensors):
            continue
        if isinstance(layer, keras.Model):
            yield from (
                inner for inner_input in layer.inputs for inner in _consumers(layer, inner_input)
            )
        elif not isinstance(layer, keras.layers.InputLayer):
            yield layer


def _leaf_layers(model: keras.Model) -> Iterator[keras.layers.Layer]:
    """All layers in model order, nested models replaced by their own layers."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _leaf_layers(layer)
        else:
            yield layer


def model_recipe(model: keras.Model, x: Structure) -> ModelRecipe:
    """How to rebuild ``model``, and the facts about it (and its inputs ``x``) that decide
    which fixes fit."""
    dropout_sites, l2_sites = rewrite_sites(model) or (None, None)
    return ModelRecipe(
        kind=model_kind(model),
        source=model,
        normalizes_inputs=normalizes_inputs(model),
        layer_types=tuple(type(layer).__name__ for layer in _leaf_layers(model)),
        hidden_activations=hidden_activations(model),
        token_inputs=token_inputs(model, x),
        dropout_sites=dropout_sites,
        l2_sites=l2_sites,
    )


def hidden_activations(model: keras.Model) -> tuple[str, ...]:
    """The activation of each hidden Dense/Conv layer (those a rebuild rewrites), nested models
    included; empty for a subclassed model, whose layers cannot be rewritten."""
    kind = model_kind(model)
    if kind == "subclassed":
        return ()
    output = _output_layers(model, kind)
    found: list[str] = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found.extend(hidden_activations(layer))
        elif _is_hidden_kernel(layer, output):
            activation = layer.get_config().get("activation")
            found.append(activation if isinstance(activation, str) else "custom")
    return tuple(found)


# --- Sequential and functional models ---------------------------------------------------------


def _rebuild_graph(model: keras.Model, kind: ModelKind, rewrite: _Rewrite) -> keras.Model:
    if kind == "subclassed":
        return _rebuild_subclassed(model)
    if kind == "sequential":
        return _rebuild_sequential(model, rewrite)
    return _rebuild_functional(model, rewrite)


def _rebuild_sequential(model: keras.Sequential, rewrite: _Rewrite) -> keras.Sequential:
    """Clone layer by layer, a Dropout placed right after each hidden Dense.

    Built here rather than with ``clone_model``, which compiles the clone like the source and
    fails when the user's loss or metric is a custom function Keras cannot deserialise.
    """
    output_dense = _output_dense_sequential(model.layers)
    layers: list[Any] = []
    if model.built:
        source_input = model.inputs[0]
        layers.append(keras.Input(batch_shape=source_input.shape, dtype=source_input.dtype))
    for layer in model.layers:
        new = _clone_layer(layer, rewrite, hidden=_is_hidden_kernel(layer, output_dense))
        layers.append(new)
        layers.extend(_layers_after_hidden(new, rewrite))
        if _is_dropout_site(layer, output_dense) and rewrite.dropout_rate > 0:
            layers.append(keras.layers.Dropout(rewrite.dropout_rate))
            rewrite.dropouts += 1
    return keras.Sequential(layers, name=model.name, trainable=model.trainable)


def _rebuild_functional(model: keras.Model, rewrite: _Rewrite) -> keras.Model:
    """Clone the graph, a Dropout called on the output of each hidden Dense, Flatten and
    global pooling layer."""
    output_dense = _output_dense_functional(model)
    hidden_clones: set[int] = set()

    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        new = _clone_layer(layer, rewrite, hidden=_is_hidden_kernel(layer, output_dense))
        if _is_dropout_site(layer, output_dense):
            hidden_clones.add(id(new))
        return new

    def call(layer: keras.layers.Layer, *args: Any, **kwargs: Any) -> Any:
        if isinstance(layer, keras.layers.Activation):  # may replace a Softmax, called with a mask
            kwargs.pop("mask", None)
        outputs = layer(*args, **kwargs)
        for after in _layers_after_hidden(layer, rewrite):
            outputs = after(outputs)
        if id(layer) not in hidden_clones or rewrite.dropout_rate == 0:
            return outputs
        rewrite.dropouts += 1
        return keras.layers.Dropout(rewrite.dropout_rate)(outputs)

    # `clone_model` compiles the clone of a compiled model, which fails for a custom loss Keras
    # cannot deserialise; an uncompiled model over the same graph avoids that.
    uncompiled = keras.Model(model.input, model.output, name=model.name)
    return keras.models.clone_model(uncompiled, clone_function=clone, call_function=call)


def _clone_layer(
    layer: keras.layers.Layer, rewrite: _Rewrite, *, hidden: bool = False
) -> keras.layers.Layer:
    """A new layer from the source's config: fresh weights, same preprocessing state; a
    ``hidden`` Dense/Conv layer also gets the activation swap and loses its activation to the
    BatchNormalization that follows it."""
    if isinstance(layer, keras.Model):
        return _rebuild_graph(layer, model_kind(layer), rewrite)
    config = layer.get_config()
    if rewrite.head is not None and id(layer) in rewrite.head_ids:
        if isinstance(layer, _ACTIVATION_LAYERS):  # the repaired Dense carries the activation
            return keras.layers.Activation("linear", name=layer.name)
        if isinstance(layer, keras.layers.Dense):
            config["activation"] = rewrite.head.activation
            config["units"] = rewrite.head.units or config["units"]
    regularizer = _kernel_regularizer(rewrite.l1, rewrite.l2)
    if regularizer is not None and isinstance(layer, _KERNEL_LAYERS):
        config["kernel_regularizer"] = regularizer
        rewrite.regularized += 1
    swap = rewrite.activation_swap
    if hidden and swap is not None and config.get("activation") in swap.replaced:
        config["activation"] = swap.activation
        config["kernel_initializer"] = swap.kernel_initializer
        rewrite.swapped += 1
    moved = config.get("activation") if hidden and rewrite.batch_norm else None
    if moved is not None:
        config["activation"] = "linear"
    if rewrite.dropout_rate > 0 and isinstance(layer, _RECURRENT_LAYERS):
        config["recurrent_dropout"] = rewrite.dropout_rate
        rewrite.dropouts += 1
    new = layer.__class__.from_config(config)
    if moved is not None:
        rewrite.moved_activations[id(new)] = moved
    _copy_preprocessing_state(layer, new)
    return new


def _kernel_regularizer(l1: float, l2: float) -> keras.regularizers.Regularizer | None:
    if l1 > 0 and l2 > 0:
        return keras.regularizers.L1L2(l1=l1, l2=l2)
    if l1 > 0:
        return keras.regularizers.L1(l1)
    if l2 > 0:
        return keras.regularizers.L2(l2)
    return None


def _layers_after_hidden(new: keras.layers.Layer, rewrite: _Rewrite) -> list[keras.layers.Layer]:
    """BatchNormalization on the pre-activations of a rewritten hidden layer, then the activation
    it had (on the channel axis: last unless the layer is channels-first)."""
    if id(new) not in rewrite.moved_activations:
        return []
    axis = 1 if getattr(new, "data_format", None) == "channels_first" else -1
    after: list[keras.layers.Layer] = [keras.layers.BatchNormalization(axis=axis)]
    activation = rewrite.moved_activations[id(new)]
    if activation != "linear":
        after.append(keras.layers.Activation(activation))
    return after


def _is_hidden_kernel(layer: keras.layers.Layer, output_layers: set[int]) -> bool:
    """A hidden Dense/Conv layer (a recurrent layer's activation is inside its cell: it is
    neither swapped nor moved behind a BatchNormalization)."""
    return (
        isinstance(layer, _KERNEL_LAYERS)
        and not isinstance(layer, _RECURRENT_LAYERS)
        and id(layer) not in output_layers
    )


def _output_layers(model: keras.Model, kind: ModelKind) -> set[int]:
    if kind == "sequential":
        return _output_dense_sequential(model.layers)
    return _output_dense_functional(model)


def _is_dropout_site(layer: keras.layers.Layer, output_dense: set[int]) -> bool:
    """A hidden Dense, or where conv/sequence features are flattened or pooled into a vector
    (dropout on conv feature maps themselves mostly slows training without regularising)."""
    if isinstance(layer, keras.layers.Dense):
        return id(layer) not in output_dense
    return isinstance(layer, _FEATURE_VECTOR_LAYERS)


def _output_dense_sequential(layers: list[keras.layers.Layer]) -> set[int]:
    """The Dense (or Conv) that makes the output, looking back through weightless layers.

    Dropout must not go between that Dense and e.g. a final ``Activation("sigmoid")``, and the
    output layer keeps its activation whatever the fixes do to hidden ones.
    """
    for layer in reversed(layers):
        if isinstance(layer, _KERNEL_LAYERS):
            return {id(layer)}
        if layer.weights:
            break
    return set()


def _output_dense_functional(model: keras.Model) -> set[int]:
    """The Dense (or Conv) layers that make the model's outputs, looking back through
    weightless layers."""
    found: set[int] = set()
    for tensor in model.outputs:
        chain = _chain_to_output(tensor)
        if chain and isinstance(chain[0], _KERNEL_LAYERS):
            found.add(id(chain[0]))
    return found


def _chain_to_output(tensor: Any) -> list[Any]:
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
        if isinstance(operation, _KERNEL_LAYERS) or weighted or len(inputs) != 1:
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
        dense = _output_dense_sequential(layers)
        start = next((i for i, layer in enumerate(layers) if id(layer) in dense), None)
        return () if start is None else tuple(layers[start:])
    if len(model.outputs) != 1:
        return ()
    chain = _chain_to_output(model.outputs[0])
    return tuple(chain) if isinstance(chain[0], keras.layers.Dense) else ()


# --- Subclassed models ------------------------------------------------------------------------


def _rebuild_subclassed(model: keras.Model) -> keras.Model:
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
    for source_layer, new_layer in zip(_leaf_layers(model), _leaf_layers(new), strict=False):
        if type(source_layer) is type(new_layer):
            _copy_preprocessing_state(source_layer, new_layer)
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


# --- Preprocessing state ----------------------------------------------------------------------


def _copy_preprocessing_state(source: keras.layers.Layer, new: keras.layers.Layer) -> None:
    """Give a cloned preprocessing layer the state ``adapt`` gave the source.

    A config does not hold adapted statistics or vocabularies. Discretization is the exception:
    its adapted bin boundaries are in its config already.
    """
    if isinstance(source, keras.layers.Normalization):
        _copy_normalization_state(source, new)
    elif isinstance(source, _LOOKUP_LAYERS):
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


# --- Input steps ------------------------------------------------------------------------------

# Each step adds its operation on the symbolic input and returns the training data as that
# operation transforms it, so the next step is fitted on what it will actually see.
_Step = Callable[[Any, Array, str], tuple[Any, Array]]


def _prepend_input_steps(
    model: keras.Model, source: keras.Model, steps: tuple[InputStep, ...], x_train: Structure
) -> keras.Model:
    """Wrap the model so that it takes the user's raw inputs and preprocesses them itself.

    Each numeric input is preprocessed on its own statistics; token ids and strings pass
    through untouched. The wrapper takes the same structure (one array, a list, a dict by
    input name) as the user's model. Built from Keras ops and Normalization layers only, so
    the saved model loads without this package.
    """
    raw = _raw_inputs(source, x_train)
    tensors: list[Any] = []
    for index, (tensor, data, is_token) in enumerate(raw):
        suffix = "" if len(raw) == 1 else f"_{index}"
        if not is_token:
            values = _at_rank(np.asarray(data, dtype="float32"), len(tensor.shape))
            for step in steps:
                tensor, values = _STEPS[step](tensor, values, suffix)
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
    shapes = _input_shapes(source)
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


def _prepend_augmentation(
    model: keras.Model, source: keras.Model, augmentation: tuple[LayerSpec, ...]
) -> tuple[keras.Model, tuple[str, ...]]:
    """Wrap the model behind Keras' random image layers, which change images in training only
    (``fit``) and pass them through unchanged in ``predict`` and ``evaluate``."""
    shapes = _input_shapes(source)
    if shapes is None or len(shapes) != 1:
        return model, ("augmentation not applied: the model has no single known input shape",)
    inputs = keras.Input(shape=tuple(shapes[0])[1:], name="image")
    tensor = inputs
    for spec in augmentation:
        tensor = getattr(keras.layers, spec.name)(**spec.kwargs)(tensor)
    return keras.Model(inputs, model(tensor), name=f"{source.name}_augmented"), ()


def _input_shapes(model: keras.Model) -> list[Any] | None:
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


def _impute(tensor: Any, data: Array, suffix: str) -> tuple[Any, Array]:
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


def _standardize(tensor: Any, data: Array, suffix: str) -> tuple[Any, Array]:
    """Scale each feature (last axis) to mean 0 and variance 1 on the training data."""
    mean, variance = _feature_moments(data)
    layer = keras.layers.Normalization(
        axis=-1, mean=mean, variance=variance, name=f"standardize{suffix}"
    )
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


_STEPS: dict[InputStep, _Step] = {"impute": _impute, "standardize": _standardize}
