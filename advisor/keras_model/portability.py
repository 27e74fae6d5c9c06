"""What a ``.keras`` file of the user's model cannot carry to another process, said once.

The advisor rebuilds every layer in-process (see :mod:`advisor.training.layer_copy`), so a
``Lambda`` or a layer class defined in the script trains like any other; only an export meets
the limits of a saved file. A Python lambda is saved as bytecode, which
``keras.saving.load_model`` refuses in its (default) safe mode; a layer class that lives in the
script and is not registered cannot be found by name when the file is loaded elsewhere.
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
    problems = []
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
