"""The model definition as a list of layer slots that edits change, and how it is written back.

Three ways of writing a model are followed: the list of ``keras.Sequential([...])`` (possibly
``[...] + [... for _ in range(n)]``), ``Sequential()`` followed by ``model.add(...)``
statements, and a functional chain ``x = Layer(...)(x)`` from ``keras.Input`` to
``keras.Model(inputs, outputs)``. A slot is one layer expression; edits change it in place or
put layers after it (a comprehension's layer only in place), and put input layers in front.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import libcst as cst

from advisor.patch import layers as kinds
from advisor.patch.changes import Changes
from advisor.patch.locate import Script
from advisor.patch.names import dotted
from advisor.patch.source import expression, statement, with_commas, wrapped

Form = Literal["list", "add", "functional"]


@dataclass
class Slot:
    """One layer expression of the user's model, as the edits leave it."""

    original: cst.Call
    layer: cst.Call
    after: list[str] = field(default_factory=list)
    # Made in a comprehension: edits may change the layer, not insert layers after it.
    in_loop: bool = False
    statement: cst.BaseStatement | None = None
    outer: cst.Call | None = None
    target: str | None = None

    @property
    def name(self) -> str:
        return kinds.class_name(self.layer) or ""


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

    @property
    def layers(self) -> list[Slot]:
        return [s for s in self.slots if s.name not in kinds.INPUT]

    def output(self) -> Slot | None:
        """The Dense/Conv that makes the output (only weightless layers after it), if any."""
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
        layers = self.layers
        return [] if output is None else layers[layers.index(output) + 1 :]

    def hidden_kernels(self) -> list[Slot]:
        """Hidden Dense/Conv layers (recurrent ones keep their activation inside the cell)."""
        output = self.output()
        return [
            s
            for s in self.layers
            if s.name in kinds.KERNEL and s.name not in kinds.RECURRENT and s is not output
        ]

    def dropout_sites(self) -> list[Slot]:
        output = self.output()
        return [
            s
            for s in self.layers
            if (s.name == "Dense" and s is not output) or s.name in kinds.FEATURE_VECTOR
        ]

    def can_prefix(self) -> bool:
        """Whether layers can go in front: the first part of a list is a list literal."""
        return self.form != "list" or isinstance(self.parts[0], cst.List)

    def write(self, changes: Changes, script: Script) -> None:
        changes.before[self.anchor].extend(statement(s) for s in self.setup)
        prefix = [text for _, text in sorted(self.prefix, key=lambda p: p[0])]
        _WRITERS[self.form](self, prefix, changes, script)


def _write_list(site: ModelSite, prefix: list[str], changes: Changes, script: Script) -> None:
    by_original = {id(s.original): s for s in site.slots}
    for number, part in enumerate(site.parts):
        if isinstance(part, cst.ListComp):
            slot = by_original.get(id(part.elt))
            if slot is not None:
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
                items.extend(cst.Element(expression(text)) for text in slot.after)
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


def _is_input(node: cst.BaseExpression | None) -> bool:
    return node is not None and kinds.class_name(node) in kinds.INPUT


def _write_add(site: ModelSite, prefix: list[str], changes: Changes, script: Script) -> None:
    def add(text: str) -> cst.BaseStatement:
        return statement(f"{site.receiver}.add({text})")

    for slot in site.slots:
        assert slot.outer is not None and slot.statement is not None
        if slot.layer is not slot.original:
            changes.replace[slot.outer] = slot.outer.with_changes(args=[cst.Arg(slot.layer)])
        changes.after[slot.statement].extend(add(text) for text in slot.after)
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
    for number, slot in enumerate(site.slots):
        assert slot.outer is not None and slot.statement is not None
        args = slot.outer.args
        if number == 0 and prefix:
            args = (slot.outer.args[0].with_changes(value=cst.Name(feeds)),)
        if slot.layer is not slot.original or args is not slot.outer.args:
            line_start = script.positions[slot.statement].start.column
            column = script.positions[slot.original].start.column
            layer = wrapped(slot.layer, column=column + len(feeds) + 2, line_start=line_start)
            changes.replace[slot.outer] = slot.outer.with_changes(func=layer, args=args)
        changes.after[slot.statement].extend(
            statement(f"{slot.target} = {text}({slot.target})") for text in slot.after
        )


_WRITERS = {"list": _write_list, "add": _write_add, "functional": _write_functional}


# --- reading the model definition ---------------------------------------------------------------


def model_site(script: Script, assignment: cst.Assign) -> ModelSite | str:
    """The model built by ``assignment``, or why the patch cannot follow it."""
    value = assignment.value
    made = dotted(value.func) if isinstance(value, cst.Call) else None
    code = script.module.code_for_node(value).split("\n")[0]
    if not isinstance(value, cst.Call) or made is None:
        return f"the model is `{code}`, which the patch cannot follow"
    kind = made.rpartition(".")[2]
    anchor = script.statement_of(assignment)
    scope, line = script.scope_of(assignment), script.line(assignment)
    if kind == "Sequential":
        return _sequential(script, value, anchor, scope, line)
    if kind in ("Model", "Functional"):
        return _functional(script, value, anchor, scope)
    return f"the model comes from `{code}`, which the patch cannot follow"


def _sequential(
    script: Script,
    call: cst.Call,
    anchor: cst.BaseStatement,
    scope: cst.FunctionDef | None,
    line: int,
) -> ModelSite | str:
    given = kinds.argument(call, "layers", 0)
    if given is None:
        return _added(script, anchor, scope, line)
    parts = _list_parts(given.value)
    if parts is None:
        return "the Sequential model's layers are not a list literal the patch can follow"
    slots: list[Slot] = []
    for part in parts:
        if isinstance(part, cst.ListComp):
            if isinstance(part.elt, cst.Call):
                slots.append(Slot(part.elt, part.elt, in_loop=True))
            continue
        slots.extend(Slot(e.value, e.value) for e in part.elements if isinstance(e.value, cst.Call))
    last = parts[-1]
    ends_unknown = (
        isinstance(last, cst.List)
        and bool(last.elements)
        and not isinstance(last.elements[-1].value, cst.Call)
    )
    return ModelSite("list", slots, anchor, scope, line, parts=parts, ends_unknown=ends_unknown)


def _list_parts(node: cst.BaseExpression) -> list[cst.List | cst.ListComp] | None:
    """``[a, b] + [c for _ in range(n)] + [d]`` as its list and comprehension parts."""
    if isinstance(node, cst.List | cst.ListComp):
        return [node]
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        left, right = _list_parts(node.left), _list_parts(node.right)
        return None if left is None or right is None else left + right
    return None


def _added(
    script: Script, anchor: cst.BaseStatement, scope: cst.FunctionDef | None, line: int
) -> ModelSite | str:
    """``model = Sequential()`` and the ``model.add(layer)`` statements after it, in order."""
    assert isinstance(anchor, cst.SimpleStatementLine)
    target = anchor.body[0]
    assert isinstance(target, cst.Assign)
    receiver = dotted(target.targets[0].target) or ""
    slots = []
    for call in script.method_calls("add", receiver):
        statement_node = script.statement_of(call)
        if script.scope_of(call) is not scope or script.line(call) < line:
            continue
        layer = call.args[0].value if len(call.args) == 1 else None
        if not isinstance(statement_node, cst.SimpleStatementLine) or not isinstance(
            layer, cst.Call
        ):
            return f"`{receiver}.add(...)` is called with something other than a layer"
        if script.block_of(statement_node) is not script.block_of(anchor):
            return f"`{receiver}.add(...)` is called inside a loop or branch"
        slots.append(Slot(layer, layer, statement=statement_node, outer=call))
    if not slots:
        return f"`{receiver}` gets no layers by `.add(...)` where it is built"
    return ModelSite("add", slots, anchor, scope, line, receiver=receiver)


def _functional(
    script: Script,
    call: cst.Call,
    anchor: cst.BaseStatement,
    scope: cst.FunctionDef | None,
) -> ModelSite | str:
    given_inputs, given_outputs = (
        kinds.argument(call, "inputs", 0),
        kinds.argument(call, "outputs", 1),
    )
    inputs = dotted(given_inputs.value) if given_inputs else None
    current = dotted(given_outputs.value) if given_outputs else None
    if inputs is None or current is None or "." in inputs + current:
        return "the functional model's inputs and outputs are not single variables"
    block = script.block_of(anchor)
    body = list(block.body)
    slots: list[Slot] = []
    for statement_node in reversed(body[: body.index(anchor)]):
        assigned = _single_assignment(statement_node)
        if assigned is None or assigned[0] != current:
            continue
        value = assigned[1]
        if current == inputs and kinds.class_name(value) in kinds.INPUT:
            slots.reverse()
            return ModelSite(
                "functional",
                slots,
                statement_node,
                scope,
                script.line(statement_node),  # input steps are set up before the Input
                input_name=inputs,
                input_statement=statement_node,
            )
        layer_call = value.func if isinstance(value, cst.Call) else None
        source = (
            value.args[0].value if isinstance(value, cst.Call) and len(value.args) == 1 else None
        )
        if not isinstance(layer_call, cst.Call) or not isinstance(source, cst.Name):
            return (
                f"`{current}` is not made by a layer called on one variable, as in x = Dense(8)(x)"
            )
        assert isinstance(value, cst.Call)
        slots.append(
            Slot(layer_call, layer_call, statement=statement_node, outer=value, target=current)
        )
        current = source.value
    return f"the chain of layers from `{inputs}` to the model's outputs cannot be followed"


def _single_assignment(node: cst.BaseStatement) -> tuple[str, cst.BaseExpression] | None:
    if not isinstance(node, cst.SimpleStatementLine) or len(node.body) != 1:
        return None
    small = node.body[0]
    if not isinstance(small, cst.Assign) or len(small.targets) != 1:
        return None
    target = small.targets[0].target
    return (target.value, small.value) if isinstance(target, cst.Name) else None
