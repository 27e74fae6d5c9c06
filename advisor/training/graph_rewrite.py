"""Rebuild a Sequential or functional model layer by layer, applying the plan's model edits.

The edits are walked generically: each edit type has one handler here, which may change a
layer's config (``configure``) and add layers after it (``after``), and counts where it landed
so that an edit with nowhere to go becomes a note rather than a silent no-op. The handlers
run in one fixed order whatever order the fixes came in (the activation swap before
BatchNormalization moves the activation, the head repair before any hidden change).

Built here rather than with ``clone_model`` alone, which compiles the clone like the source and
fails when the user's loss or metric is a custom function Keras cannot deserialise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras

from advisor.keras_model.inspect import (
    ACTIVATION_LAYERS,
    KERNEL_LAYERS,
    RECURRENT_LAYERS,
    Site,
    head_layers,
    last_hidden_dense,
    layer_site,
    model_kind,
    output_layers,
)
from advisor.plan import NO_DROPOUT_SITE, NO_L2_SITE, ModelKind
from advisor.plan_edits import (
    BatchNormBeforeActivation,
    DropoutAfterHidden,
    KernelPenalty,
    ModelEdit,
    PlanEdit,
    ReplaceHead,
    ScaleUserRegularisation,
    SwapActivation,
    WidenHidden,
)
from advisor.training.layer_copy import Config, LayerClass, layer_config, new_layer
from advisor.training.subclass_rebuild import rebuild_subclassed


class _Handler:
    """One model edit as the clone applies it; ``landed`` counts the layers it changed."""

    def __init__(self, edit: Any) -> None:
        self.edit = edit
        self.landed = 0

    def configure(self, cls: LayerClass, config: Config, site: Site) -> LayerClass:
        """Change the new layer's ``config`` (or class) for this edit."""
        return cls

    def created(self, new: keras.layers.Layer) -> None:
        """Called with each new layer right after it was made from its config."""

    def after(self, new: keras.layers.Layer, site: Site) -> list[keras.layers.Layer]:
        """Layers that go right after ``new``."""
        return []

    def labels(self) -> tuple[str, ...]:
        """The names the notes use for what this edit asked."""
        return ()

    def unmet(self) -> str:
        """Why the edit landed nowhere."""
        return ""


class _Head(_Handler):
    edit: ReplaceHead

    def configure(self, cls: LayerClass, config: Config, site: Site) -> LayerClass:
        if not site.head:
            return cls
        if issubclass(cls, ACTIVATION_LAYERS):  # the repaired Dense carries the activation
            name = config.get("name")
            config.clear()
            config.update(name=name, activation="linear")
            activation: LayerClass = keras.layers.Activation
            return activation
        if issubclass(cls, keras.layers.Dense):
            config["activation"] = self.edit.activation
            config["units"] = self.edit.units or config["units"]
            self.landed += 1
        return cls

    def labels(self) -> tuple[str, ...]:
        return ("head",)

    def unmet(self) -> str:
        return "the model's output is not made by a Dense layer"


class _Widen(_Handler):
    edit: WidenHidden

    def configure(self, cls: LayerClass, config: Config, site: Site) -> LayerClass:
        key = "units" if "units" in config else "filters"
        if site.hidden and key in config:
            config[key] = max(1, round(config[key] * self.edit.factor))
            self.landed += 1
        return cls

    def labels(self) -> tuple[str, ...]:
        return ("widening",)

    def unmet(self) -> str:
        return "the model has no hidden Dense/Conv layer"


class _ScaleRegularisation(_Handler):
    edit: ScaleUserRegularisation

    def configure(self, cls: LayerClass, config: Config, site: Site) -> LayerClass:
        factor = self.edit.factor
        for key in ("rate", "recurrent_dropout"):
            dropout = issubclass(cls, (keras.layers.Dropout, *RECURRENT_LAYERS))
            if dropout and config.get(key):
                config[key] = min(float(config[key]) * factor, _MAX_RATE)
                self.landed += 1
        regularizer = config.get("kernel_regularizer")
        if isinstance(regularizer, dict):
            inner = {
                k: float(v) * factor if k in ("l1", "l2") else v
                for k, v in regularizer.get("config", {}).items()
            }
            config["kernel_regularizer"] = {**regularizer, "config": inner}
            self.landed += 1
        return cls

    def labels(self) -> tuple[str, ...]:
        return ("regularisation scaling",)

    def unmet(self) -> str:
        return "the model has no Dropout or kernel regulariser of its own"


_MAX_RATE = 0.95  # a scaled-up Dropout rate must stay below 1


class _Penalty(_Handler):
    edit: KernelPenalty

    def __init__(self, edit: KernelPenalty) -> None:
        if edit.l1 < 0 or edit.l2 < 0:
            raise ValueError(f"l1 and l2 must be >= 0. Received l1={edit.l1}, l2={edit.l2}")
        super().__init__(edit)

    def configure(self, cls: LayerClass, config: Config, site: Site) -> LayerClass:
        l1, l2 = self.edit.l1, self.edit.l2
        if not issubclass(cls, KERNEL_LAYERS) or not (l1 or l2):
            return cls
        if l1 and l2:
            config["kernel_regularizer"] = keras.regularizers.L1L2(l1=l1, l2=l2)
        else:
            config["kernel_regularizer"] = (
                keras.regularizers.L1(l1) if l1 else keras.regularizers.L2(l2)
            )
        self.landed += 1
        return cls

    def labels(self) -> tuple[str, ...]:
        return tuple(name for name, value in (("L2", self.edit.l2), ("L1", self.edit.l1)) if value)

    def unmet(self) -> str:
        return f"the model has {NO_L2_SITE}"


class _Swap(_Handler):
    edit: SwapActivation

    def configure(self, cls: LayerClass, config: Config, site: Site) -> LayerClass:
        if site.hidden and config.get("activation") in self.edit.replaced:
            config["activation"] = self.edit.activation
            config["kernel_initializer"] = self.edit.kernel_initializer
            self.landed += 1
        return cls

    def labels(self) -> tuple[str, ...]:
        return ("ReLU" if self.edit.activation == "relu" else self.edit.activation,)

    def unmet(self) -> str:
        return f"no hidden Dense/Conv layer uses {' or '.join(self.edit.replaced)}"


class _BatchNorm(_Handler):
    edit: BatchNormBeforeActivation

    def __init__(self, edit: BatchNormBeforeActivation) -> None:
        super().__init__(edit)
        # Activations moved out of hidden layers, by the new layer's id: applied after its
        # BatchNormalization.
        self.moved: dict[int, Any] = {}
        self.pending: Any = None

    def configure(self, cls: LayerClass, config: Config, site: Site) -> LayerClass:
        self.pending = config.get("activation") if site.hidden else None
        if self.pending is not None:
            config["activation"] = "linear"
        return cls

    def created(self, new: keras.layers.Layer) -> None:
        if self.pending is not None:
            self.moved[id(new)] = self.pending
            self.landed += 1

    def after(self, new: keras.layers.Layer, site: Site) -> list[keras.layers.Layer]:
        """BatchNormalization on the pre-activations, then the activation the layer had (on the
        channel axis: last unless the layer is channels-first)."""
        if id(new) not in self.moved:
            return []
        axis = 1 if getattr(new, "data_format", None) == "channels_first" else -1
        after: list[keras.layers.Layer] = [keras.layers.BatchNormalization(axis=axis)]
        if self.moved[id(new)] != "linear":
            after.append(keras.layers.Activation(self.moved[id(new)]))
        return after

    def labels(self) -> tuple[str, ...]:
        return ("BatchNormalization",)

    def unmet(self) -> str:
        return "the model has no hidden Dense/Conv layer"


class _Dropout(_Handler):
    edit: DropoutAfterHidden

    def __init__(self, edit: DropoutAfterHidden) -> None:
        if not 0.0 <= edit.rate < 1.0:
            raise ValueError(f"dropout rate must be in [0, 1). Received rate={edit.rate}")
        super().__init__(edit)

    def configure(self, cls: LayerClass, config: Config, site: Site) -> LayerClass:
        if issubclass(cls, RECURRENT_LAYERS) and self.edit.rate > 0:
            config["recurrent_dropout"] = self.edit.rate
            self.landed += 1
        return cls

    def after(self, new: keras.layers.Layer, site: Site) -> list[keras.layers.Layer]:
        if not site.dropout or self.edit.rate == 0:
            return []
        self.landed += 1
        return [keras.layers.Dropout(self.edit.rate)]

    def labels(self) -> tuple[str, ...]:
        return ("dropout",)

    def unmet(self) -> str:
        return f"the model has {NO_DROPOUT_SITE}"


# The order handlers apply in, whatever order the fixes came in.
_HANDLERS: dict[type[ModelEdit], type[_Handler]] = {
    ReplaceHead: _Head,
    WidenHidden: _Widen,
    ScaleUserRegularisation: _ScaleRegularisation,
    KernelPenalty: _Penalty,
    SwapActivation: _Swap,
    BatchNormBeforeActivation: _BatchNorm,
    DropoutAfterHidden: _Dropout,
}
LAYER_EDITS = tuple(_HANDLERS)


class Rewrite:
    """The layer edits of a plan (the last of each type counts), applied while cloning, and
    where each landed (for the notes)."""

    def __init__(self, edits: Sequence[PlanEdit], source: keras.Model | None = None) -> None:
        last = {type(edit): edit for edit in edits if isinstance(edit, LAYER_EDITS)}
        order = list(dict.fromkeys(type(edit) for edit in edits))
        self.handlers = [_HANDLERS[kind](last[kind]) for kind in _HANDLERS if kind in last]
        # The notes follow the plan's order; the handlers apply in theirs.
        self._noted = sorted(self.handlers, key=lambda h: order.index(type(h.edit)))
        widen = last.get(WidenHidden)
        self.extra_layers = widen.extra_layers if isinstance(widen, WidenHidden) else 0
        self.head_ids: frozenset[int] = frozenset()
        # The outer model's last hidden Dense: the extra hidden layers go after it.
        self.repeat_id: int | None = None
        if source is not None and model_kind(source) != "subclassed":
            if ReplaceHead in last:
                self.head_ids = frozenset(id(layer) for layer in head_layers(source))
            last_dense = last_hidden_dense(source, model_kind(source))
            self.repeat_id = None if last_dense is None else id(last_dense)

    def asked(self) -> tuple[str, ...]:
        """The rewrites asked for, by the names the notes use, in the plan's order."""
        return tuple(label for handler in self._noted for label in handler.labels())

    def notes(self) -> tuple[str, ...]:
        notes = [
            f"{label} not applied: {handler.unmet()}"
            for handler in self._noted
            if handler.landed == 0
            for label in handler.labels()
        ]
        if self.extra_layers and self.repeat_id is None:
            notes.append("extra layers not added: the model has no hidden Dense layer")
        return tuple(notes)

    def clone(self, layer: keras.layers.Layer, site: Site, *, fresh_name: bool = False) -> Any:
        """A new layer from the source's config with every handler's change: fresh weights,
        same preprocessing state. A nested model is rebuilt with the same edits."""
        if isinstance(layer, keras.Model):
            return rebuild_graph(layer, model_kind(layer), self)
        cls: LayerClass = type(layer)
        config = layer_config(layer)
        if config is None:  # weightless, and Keras cannot describe it: shared as it is
            return layer
        if fresh_name:
            config.pop("name", None)
        for handler in self.handlers:
            cls = handler.configure(cls, config, site)
        new = new_layer(cls, config, layer)
        for handler in self.handlers:
            handler.created(new)
        return new

    def after(self, new: keras.layers.Layer, site: Site) -> list[keras.layers.Layer]:
        """What the edits put right after the new layer ``new``."""
        return [extra for handler in self.handlers for extra in handler.after(new, site)]

    def repeats(self, layer: keras.layers.Layer, site: Site) -> list[keras.layers.Layer]:
        """The extra hidden layers like the source ``layer``, each with what goes after it."""
        found: list[keras.layers.Layer] = []
        for _ in range(self.extra_layers if id(layer) == self.repeat_id else 0):
            copy = self.clone(layer, site, fresh_name=True)
            found.extend((copy, *self.after(copy, site)))
        return found


def rewrite_model(
    source: keras.Model, kind: ModelKind, edits: Sequence[PlanEdit]
) -> tuple[keras.Model, tuple[str, ...]]:
    """The graph model ``source`` rebuilt with the plan's layer edits, and what could not be
    done."""
    rewrite = Rewrite(edits, source)
    return rebuild_graph(source, kind, rewrite), rewrite.notes()


def rebuild_graph(model: keras.Model, kind: ModelKind, rewrite: Rewrite) -> keras.Model:
    """``model`` rebuilt with ``rewrite``'s edits (a nested subclassed model is rebuilt through
    its class, unchanged)."""
    if kind == "subclassed":
        return rebuild_subclassed(model)
    if kind == "sequential":
        return _rebuild_sequential(model, rewrite)
    return _rebuild_functional(model, rewrite)


def _rebuild_sequential(model: keras.Sequential, rewrite: Rewrite) -> keras.Sequential:
    output = output_layers(model, "sequential")
    layers: list[Any] = []
    if model.built:
        source_input = model.inputs[0]
        layers.append(keras.Input(batch_shape=source_input.shape, dtype=source_input.dtype))
    for layer in model.layers:
        site = layer_site(layer, output, rewrite.head_ids)
        new = rewrite.clone(layer, site)
        layers.extend((new, *rewrite.after(new, site), *rewrite.repeats(layer, site)))
    return keras.Sequential(layers, name=model.name, trainable=model.trainable)


def _rebuild_functional(model: keras.Model, rewrite: Rewrite) -> keras.Model:
    """Clone the graph; each new layer is called, then what the edits put after it."""
    output = output_layers(model, "functional")
    sources: dict[int, tuple[keras.layers.Layer, Site]] = {}

    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        site = layer_site(layer, output, rewrite.head_ids)
        new: keras.layers.Layer = rewrite.clone(layer, site)
        sources[id(new)] = (layer, site)
        return new

    def call(layer: keras.layers.Layer, *args: Any, **kwargs: Any) -> Any:
        if isinstance(layer, keras.layers.Activation):  # may replace a Softmax, called with a mask
            kwargs.pop("mask", None)
        outputs = layer(*args, **kwargs)
        source, site = sources.get(id(layer), (None, Site(hidden=False, dropout=False)))
        for after in rewrite.after(layer, site):
            outputs = after(outputs)
        for extra in rewrite.repeats(source, site) if source is not None else ():
            outputs = extra(outputs)
        return outputs

    # `clone_model` compiles the clone of a compiled model, which fails for a custom loss Keras
    # cannot deserialise; an uncompiled model over the same graph avoids that.
    uncompiled = keras.Model(model.input, model.output, name=model.name)
    return keras.models.clone_model(uncompiled, clone_function=clone, call_function=call)
