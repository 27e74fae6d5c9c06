"""What the patch knows about Keras layer classes by name (it reads source, not objects).

The same groups as ``advisor.training.rebuild`` uses on layer objects: where kernel penalties go,
which layers are hidden Dense/Conv ones, where Dropout follows, and which weightless layers may
sit after the output layer.
"""

from __future__ import annotations

import libcst as cst

from advisor.patch.names import dotted

RECURRENT = frozenset(("LSTM", "GRU", "SimpleRNN"))
KERNEL = frozenset(
    (
        "Dense",
        "Conv1D",
        "Conv2D",
        "Conv3D",
        "Conv1DTranspose",
        "Conv2DTranspose",
        "Conv3DTranspose",
        *RECURRENT,
    )
)
FEATURE_VECTOR = frozenset(
    (
        "Flatten",
        "GlobalAveragePooling1D",
        "GlobalAveragePooling2D",
        "GlobalAveragePooling3D",
        "GlobalMaxPooling1D",
        "GlobalMaxPooling2D",
        "GlobalMaxPooling3D",
    )
)
ACTIVATION = frozenset(("Activation", "Softmax", "ReLU", "LeakyReLU", "ELU"))
# Weightless layers that may follow the output Dense without making it a hidden layer.
WEIGHTLESS = frozenset(
    (
        *ACTIVATION,
        "Dropout",
        "Flatten",
        "Reshape",
        "Identity",
        "Rescaling",
        "ActivityRegularization",
    )
)
INPUT = frozenset(("Input", "InputLayer"))


def class_name(node: cst.BaseExpression) -> str | None:
    """``Dense`` for ``keras.layers.Dense(...)`` or ``Dense(...)``; None for other expressions."""
    if not isinstance(node, cst.Call):
        return None
    name = dotted(node.func)
    return None if name is None else name.rpartition(".")[2]


def argument(node: cst.Call, name: str, position: int | None = None) -> cst.Arg | None:
    """The argument ``name``, given by keyword or as positional number ``position``."""
    for given in node.args:
        if given.keyword is not None and given.keyword.value == name:
            return given
    positional = [a for a in node.args if a.keyword is None and not a.star]
    if position is not None and position < len(positional):
        return positional[position]
    return None


def string_value(node: cst.BaseExpression | None) -> str | None:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def activation_of(node: cst.Call) -> str | None:
    """The layer's activation as written: a string, ``"linear"`` when not given, None when it
    is an expression the patch cannot read."""
    position = 1 if class_name(node) == "Dense" else None  # Conv layers take it by keyword
    given = argument(node, "activation", position)
    if given is None:
        return "linear"
    return string_value(given.value)
