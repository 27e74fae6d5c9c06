"""How the script names Keras (and NumPy), so new code speaks its dialect.

A script that says ``from tensorflow import keras`` gets ``keras.layers.Dropout``; one that
imported ``Dropout`` from ``keras.layers`` gets ``Dropout``; one with ``from keras import
layers`` gets ``layers.Dropout``. Only when the script has no name for Keras at all does the
patch add ``import keras`` (and ``import numpy as np`` for NumPy).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import libcst as cst

KERAS_MODULES = ("keras", "tensorflow.keras", "tf.keras")
SUBMODULES = ("layers", "optimizers", "callbacks", "regularizers", "ops", "metrics", "losses")


def dotted(node: cst.BaseExpression) -> str | None:
    """``keras.layers.Dense`` for that attribute chain; None for anything else."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        head = dotted(node.value)
        return None if head is None else f"{head}.{node.attr.value}"
    return None


def _module_name(node: cst.BaseExpression | None) -> str:
    return "" if node is None else (dotted(node) or "")


def _bound(alias: cst.ImportAlias) -> str:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    return _module_name(alias.name).split(".")[0]


@dataclass
class ScriptNames:
    """The script's names for Keras, its submodules and classes, NumPy, and every identifier
    (so new variables never shadow the user's)."""

    keras: str | None = None
    submodules: dict[str, str] = field(default_factory=dict)
    classes: dict[tuple[str, str], str] = field(default_factory=dict)
    numpy: str | None = None
    used: set[str] = field(default_factory=set)
    imports_needed: list[str] = field(default_factory=list)

    def ref(self, submodule: str, name: str) -> str:
        """How new code refers to ``keras.<submodule>.<name>`` (``keras.<name>`` for ``""``)."""
        if (submodule, name) in self.classes:
            return self.classes[(submodule, name)]
        if submodule in self.submodules:
            return f"{self.submodules[submodule]}.{name}"
        return ".".join(part for part in (self.keras_name(), submodule, name) if part)

    def module(self, submodule: str) -> str:
        """How new code refers to ``keras.<submodule>`` itself (``keras.ops``)."""
        return self.submodules.get(submodule) or f"{self.keras_name()}.{submodule}"

    def keras_name(self) -> str:
        if self.keras is None:
            self.keras = "keras"
            self.imports_needed.append("import keras")
        return self.keras

    def numpy_name(self) -> str:
        if self.numpy is None:
            self.numpy = "np" if "np" not in self.used else "numpy"
            alias = "" if self.numpy == "numpy" else " as np"
            self.imports_needed.append(f"import numpy{alias}")
        return self.numpy

    def fresh(self, base: str) -> str:
        """``base``, or ``base_2``... when the script already uses that name."""
        name, number = base, 2
        while name in self.used:
            name, number = f"{base}_{number}", number + 1
        self.used.add(name)
        return name


def script_names(module: cst.Module) -> ScriptNames:
    names = ScriptNames()
    tensorflow: str | None = None
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Import):
                for alias in small.names:
                    full = _module_name(alias.name)
                    if full == "keras" or (full == "tensorflow.keras" and alias.asname):
                        names.keras = _bound(alias)
                    elif full == "tensorflow":
                        tensorflow = _bound(alias)
                    elif full == "numpy":
                        names.numpy = _bound(alias)
            elif isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                _from_import(names, _module_name(small.module), small.names)
    if names.keras is None and tensorflow is not None:
        names.keras = f"{tensorflow}.keras"

    class _Identifiers(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            names.used.add(node.value)

    module.visit(_Identifiers())
    return names


def _from_import(names: ScriptNames, source: str, aliases: Sequence[cst.ImportAlias]) -> None:
    for alias in aliases:
        imported = _module_name(alias.name)
        bound = _bound(alias)
        if source == "tensorflow" and imported == "keras":
            names.keras = bound
        elif source in KERAS_MODULES and imported in SUBMODULES:
            names.submodules[imported] = bound
        elif source in KERAS_MODULES:
            names.classes[("", imported)] = bound
        else:
            submodule = source.rpartition(".")[2]
            if source.rpartition(".")[0] in KERAS_MODULES and submodule in SUBMODULES:
                names.classes[(submodule, imported)] = bound
