"""The model definition as a list of layer slots that edits change, and how it is written back.

Three ways of writing a model are followed (read by :mod:`advisor.patch.read_model`): the list
of ``keras.Sequential([...])`` (possibly ``[...] + [... for _ in range(n)]``), ``Sequential()``
followed by ``model.add(...)`` statements, and a functional graph of ``x = Layer(...)(x)``
statements from ``keras.Input`` to ``keras.Model(inputs, outputs)`` (several inputs and
outputs, as variables, lists or dicts of them). A slot is one layer expression; edits change
it in place or put layers after it, and put input layers in front.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import libcst as cst

from advisor.patch import layers as kinds
from advisor.patch.changes import Changes
from advisor.patch.locate import Script
from advisor.patch.source import (
    INDENT,
    expression,
    set_arguments,
    statement,
    with_commas,
    wrapped,
)

Form = Literal["list", "add", "functional"]


@dataclass
class Slot:
    """One layer expression of the user's model, as the edits leave it."""

    original: cst.Call
    layer: cst.Call
    after: list[str] = field(default_factory=list)
    # Made in a comprehension: layers after it are made in the same comprehension.
    in_loop: bool = False
    statement: cst.BaseStatement | None = None
    outer: cst.Call | None = None
    target: str | None = None
    # Copies of this layer (without its name) to put after it, each followed by ``after``.
    repeats: int = 0

    @property
    def name(self) -> str:
        return kinds.class_name(self.layer) or ""

    def followers(self) -> list[str]:
        """What goes after the layer: ``after``, then each copy with its own ``after``, as
        the advisor's rebuild puts the extra hidden layers."""
        copy = cst.Module([]).code_for_node(set_arguments(self.layer, {"name": None}, {}))
        return [*self.after, *(text for _ in range(self.repeats) for text in (copy, *self.after))]


@dataclass
class ModelSite:
    form: Form
    slots: list[Slot]
    # Setup statements (an adapted Normalization) go before this statement.
    anchor: cst.BaseStatement
    scope: cst.FunctionDef | None
    line: int
    parts: list[cst.List | cst.ListComp] = field(default_factory=list)
    receiver: str = ""
    input_name: str = ""
    input_statement: cst.BaseStatement | None = None
    prefix: list[tuple[int, str]] = field(default_factory=list)
    setup: list[str] = field(default_factory=list)
    # The imputing layer, once an impute step is in front: standardisation adapts on its output.
    imputer: str | None = None
    # The list ends in something other than a layer call (a nested model by name): the patch
    # cannot tell which layer makes the output.
    ends_unknown: bool = False
    # A functional graph: each output's chain, from the Dense/Conv that makes it through the
    # weightless layers after it (empty when another layer makes that output).
    heads: list[list[Slot]] | None = None
    # A functional graph's Input variables other than ``input_name`` (no input step for them).
    other_inputs: list[str] = field(default_factory=list)

    @property
    def layers(self) -> list[Slot]:
        return [s for s in self.slots if s.name not in kinds.INPUT]

    def output(self) -> Slot | None:
        """The Dense/Conv that makes the only output (only weightless layers after it), if any."""
        if self.heads is not None:
            return self.heads[0][0] if len(self.heads) == 1 and self.heads[0] else None
        if self.ends_unknown:
            return None
        for slot in reversed(self.layers):
            if slot.name in kinds.KERNEL:
                return slot
            if slot.name not in kinds.WEIGHTLESS:
                return None
        return None

    def after_output(self) -> list[Slot]:
        output = self.output()
        if self.heads is not None:
            return self.heads[0][1:] if output is not None else []
        layers = self.layers
        return [] if output is None else layers[layers.index(output) + 1 :]

    def outputs(self) -> list[Slot]:
        """The Dense/Conv of every output (one per head of a functional graph)."""
        if self.heads is not None:
            return [chain[0] for chain in self.heads if chain]
        output = self.output()
        return [] if output is None else [output]

    def hidden_kernels(self) -> list[Slot]:
        """Hidden Dense/Conv layers (recurrent ones keep their activation inside the cell)."""
        outputs = self.outputs()
        return [
            s
            for s in self.layers
            if s.name in kinds.KERNEL
            and s.name not in kinds.RECURRENT
            and all(s is not o for o in outputs)
        ]

    def dropout_sites(self) -> list[Slot]:
        outputs = self.outputs()
        return [
            s
            for s in self.layers
            if (s.name == "Dense" and all(s is not o for o in outputs))
            or s.name in kinds.FEATURE_VECTOR
        ]

    def prefix_blocker(self) -> str | None:
        """Why no layer can go in front of the model, or None when it can."""
        if self.form == "list" and not isinstance(self.parts[0], cst.List):
            return "the model's first layers are made in a comprehension"
        if self.other_inputs:
            return "the functional model has several inputs"
        return None

    def write(self, changes: Changes, script: Script) -> None:
        changes.before[self.anchor].extend(statement(s) for s in self.setup)
        prefix = [text for _, text in sorted(self.prefix, key=lambda p: p[0])]
        _WRITERS[self.form](self, prefix, changes, script)


def _write_list(site: ModelSite, prefix: list[str], changes: Changes, script: Script) -> None:
    by_original = {id(s.original): s for s in site.slots}
    for number, part in enumerate(site.parts):
        if isinstance(part, cst.ListComp):
            slot = by_original.get(id(part.elt))
            if slot is not None and slot.followers():
                changes.replace[part] = _comprehension(part, slot, script)
            elif slot is not None:
                changes.replace[part] = part.with_changes(elt=slot.layer)
            continue
        items: list[cst.BaseElement] = []
        opening = part.lbracket.whitespace_after
        indent = (
            opening.last_line.value if isinstance(opening, cst.ParenthesizedWhitespace) else None
        )
        for element in part.elements:
            slot = by_original.get(id(element.value))
            if slot is not None and slot.layer is not slot.original and indent is not None:
                column = script.positions[slot.original].start.column
                slot.layer = wrapped(slot.layer, column=column, line_start=column, indent=indent)
            items.append(element if slot is None else element.with_changes(value=slot.layer))
            if slot is not None:
                items.extend(cst.Element(expression(text)) for text in slot.followers())
        if number == 0:
            # Input steps go right after the leading keras.Input, so they see the raw inputs.
            inputs = next(
                (i for i, e in enumerate(part.elements) if not _is_input(e.value)),
                len(part.elements),
            )
            items[inputs:inputs] = [cst.Element(expression(text)) for text in prefix]
        if items != list(part.elements):
            changes.replace[part] = part.with_changes(
                elements=with_commas(part.elements, items, part.lbracket.whitespace_after)
            )


def _comprehension(part: cst.ListComp, slot: Slot, script: Script) -> cst.BaseExpression:
    """``[Dense(8) for _ in range(n)]`` with layers after each: ``[layer for _ in range(n) for
    layer in (Dense(8), Dropout(0.2))]``, so every pass still makes new layers."""
    code = script.module.code_for_node
    variable = script.names.fresh("layer")
    made = [code(slot.layer), *slot.followers()]
    loops = code(part.for_in).strip()
    one_line = f"[{variable} {loops} for {variable} in ({', '.join(made)})]"
    line = script.module.code.splitlines()[script.positions[part].start.line - 1]
    indent = " " * (len(line) - len(line.lstrip()))
    if len(indent) + len(one_line) <= 88:
        return expression(one_line)
    inner, deeper = indent + INDENT, indent + 2 * INDENT
    listed = "".join(f"{deeper}{text},\n" for text in made)
    clauses = loops.replace(" for ", f"\n{inner}for ").replace(" if ", f"\n{inner}if ")
    return expression(
        f"[\n{inner}{variable}\n{inner}{clauses}\n{inner}for {variable} in (\n{listed}"
        f"{inner})\n{indent}]"
    )


def _is_input(node: cst.BaseExpression | None) -> bool:
    return node is not None and kinds.class_name(node) in kinds.INPUT


def _write_add(site: ModelSite, prefix: list[str], changes: Changes, script: Script) -> None:
    def add(text: str) -> cst.BaseStatement:
        return statement(f"{site.receiver}.add({text})")

    for slot in site.slots:
        assert slot.outer is not None and slot.statement is not None
        if slot.layer is not slot.original:
            changes.replace[slot.outer] = slot.outer.with_changes(args=[cst.Arg(slot.layer)])
        changes.after[slot.statement].extend(add(text) for text in slot.followers())
    first = site.slots[0]
    assert first.statement is not None
    if _is_input(first.layer):
        changes.after[first.statement][:0] = [add(text) for text in prefix]
    else:
        changes.before[first.statement].extend(add(text) for text in prefix)


def _write_functional(site: ModelSite, prefix: list[str], changes: Changes, script: Script) -> None:
    feeds = site.input_name
    if prefix:
        assert site.input_statement is not None
        feeds = script.names.fresh("preprocessed")
        source = site.input_name
        for text in prefix:
            changes.after[site.input_statement].append(statement(f"{feeds} = {text}({source})"))
            source = feeds
    for slot in site.slots:
        assert slot.outer is not None and slot.statement is not None
        args = slot.outer.args
        if prefix:  # layers that took the raw inputs take the preprocessed ones
            renamed = [a.visit(_Rename(site.input_name, feeds)) for a in args]
            kept = [a for a in renamed if isinstance(a, cst.Arg)]
            if not all(new.deep_equals(old) for new, old in zip(kept, args, strict=True)):
                args = tuple(kept)
        if slot.layer is not slot.original or args is not slot.outer.args:
            line_start = script.positions[slot.statement].start.column
            column = script.positions[slot.original].start.column
            layer = wrapped(slot.layer, column=column + len(feeds) + 2, line_start=line_start)
            changes.replace[slot.outer] = slot.outer.with_changes(func=layer, args=args)
        changes.after[slot.statement].extend(
            statement(f"{slot.target} = {text}({slot.target})") for text in slot.followers()
        )


class _Rename(cst.CSTTransformer):
    """One variable's uses renamed (the raw Input, where a layer is called on it)."""

    def __init__(self, old: str, new: str) -> None:
        super().__init__()
        self.old, self.new = old, new

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.Attribute:
        return updated_node.with_changes(attr=original_node.attr)  # `a.inputs` is not `inputs`

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        if updated_node.value != self.old:
            return updated_node
        return updated_node.with_changes(value=self.new)


_WRITERS = {"list": _write_list, "add": _write_add, "functional": _write_functional}
