"""What a ``.keras`` file of the user's model cannot carry to another process, said once.

The advisor rebuilds every layer in-process (see :mod:`advisor.training.layer_copy`), so a
``Lambda`` or a layer class defined in the script trains like any other; only an export meets
the limits of a saved file. A Python lambda is saved as bytecode, which
``keras.saving.load_model`` refuses in its (default) safe mode; a layer class that lives in the
script and is not registered cannot be found by name when the file is loaded elsewhere; nor
can a ``TextVectorization``'s own ``standardize`` or ``split`` function, saved by its name.
"""

from __future__ import annotations

import types

import keras

from advisor.keras_model.inspect import leaf_layers

_SCRIPT_MODULE = "__main__"  # the module a script run as `python script.py` defines its classes in


def export_caveat(model: keras.Model) -> str | None:
    """One sentence on the layers a ``.keras`` export of ``model`` cannot load back plainly, or
    None when it can."""
    lambdas = [layer.name for layer in leaf_layers(model) if _holds_python_lambda(layer)]
    unregistered = sorted(
        {type(layer).__name__ for layer in leaf_layers(model) if _unregistered_script_class(layer)}
    )
    text_functions = sorted(
        {f"{layer.name}.{name}" for layer in leaf_layers(model) for name in _own_functions(layer)}
    )
    problems = []
    if text_functions:
        problems.append(
            f"TextVectorization {', '.join(text_functions)} is a Python function of the "
            "script, saved by its name only, so load_model needs it registered "
            "(keras.saving.register_keras_serializable) or given as custom_objects"
        )
    if lambdas:
        problems.append(
            f"Lambda layer(s) {', '.join(lambdas)} hold a Python lambda, saved as bytecode that "
            "keras.saving.load_model refuses unless given safe_mode=False"
        )
    if unregistered:
        problems.append(
            f"layer class(es) {', '.join(unregistered)} are defined in the script and not "
            "registered (keras.saving.register_keras_serializable), so load_model needs them "
            "as custom_objects"
        )
    if not problems:
        return None
    return f"a .keras export of this model cannot be loaded plainly: {'; '.join(problems)}"


def _holds_python_lambda(layer: keras.layers.Layer) -> bool:
    function = getattr(layer, "function", None)
    return (
        isinstance(layer, keras.layers.Lambda)
        and isinstance(function, types.LambdaType)
        and function.__name__ == "<lambda>"
    )


def _unregistered_script_class(layer: keras.layers.Layer) -> bool:
    cls = type(layer)
    if cls.__module__ != _SCRIPT_MODULE:
        return False
    return keras.saving.get_registered_object(keras.saving.get_registered_name(cls)) is not cls


def _own_functions(layer: keras.layers.Layer) -> list[str]:
    """``standardize`` / ``split`` of a TextVectorization given as an unregistered function
    (the strings Keras names are saved as they are)."""
    if not isinstance(layer, keras.layers.TextVectorization):
        return []
    own = []
    for name in ("standardize", "split"):
        value = getattr(layer, f"_{name}", None)  # Keras keeps them under these names
        if callable(value) and not _registered(value):
            own.append(name)
    return own


def _registered(function: object) -> bool:
    name = keras.saving.get_registered_name(function)
    return keras.saving.get_registered_object(name) is function
