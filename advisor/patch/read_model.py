"""Read the user's model definition into a :class:`~advisor.patch.model.ModelSite`, or say why
the patch cannot follow it.

A functional graph is followed backwards from every output variable of
``keras.Model(inputs, outputs)`` through statements ``y = Layer(...)(x)`` (or a layer called on
a list of variables, as ``Concatenate()([a, b])``) to the ``keras.Input`` variables, in one
block; anything else on the way (``keras.ops`` arithmetic, a helper function) is said in words.
"""

from __future__ import annotations

import libcst as cst

from advisor.patch import layers as kinds
from advisor.patch.locate import Script
from advisor.patch.model import ModelSite, Slot
from advisor.patch.names import dotted


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
    inputs = _variables(given_inputs.value) if given_inputs else None
    outputs = _variables(given_outputs.value) if given_outputs else None
    if not inputs or not outputs:
        return "the functional model's inputs and outputs are not variables, lists or dicts of them"
    body = list(script.block_of(anchor).body)
    graph = _Graph(body, inputs)
    ends = [graph.follow(name, body.index(anchor)) for name in outputs]
    if graph.failure is not None:
        return graph.failure
    missing = [name for name in inputs if name not in graph.input_statements]
    if missing:
        return f"the input `{missing[0]}` does not lead to the model's outputs"
    first_input = min(graph.input_statements.values(), key=body.index)
    slots = [graph.slots[i] for i in sorted(graph.slots)]
    return ModelSite(
        "functional",
        slots,
        first_input,  # input steps are set up before the first Input
        scope,
        script.line(first_input),
        input_name=inputs[0],
        input_statement=graph.input_statements[inputs[0]],
        heads=[graph.head(end) for end in ends],
        other_inputs=inputs[1:],
    )


def _variables(node: cst.BaseExpression) -> list[str] | None:
    """``x``, ``[a, b]``, ``(a, b)`` or ``{"a": a, "b": b}`` as its variable names."""
    if isinstance(node, cst.Name):
        return [node.value]
    if isinstance(node, cst.List | cst.Tuple):
        values = [e.value for e in node.elements if isinstance(e, cst.Element)]
    elif isinstance(node, cst.Dict):
        values = [e.value for e in node.elements if isinstance(e, cst.DictElement)]
    else:
        return None
    names = [v.value for v in values if isinstance(v, cst.Name)]
    return names if len(names) == len(node.elements) else None


class _Graph:
    """The layer statements met walking back from the outputs, by statement index."""

    def __init__(self, body: list[cst.BaseStatement], inputs: list[str]) -> None:
        self.body, self.inputs = body, inputs
        self.slots: dict[int, Slot] = {}
        self.sources: dict[int, list[int | None]] = {}
        self.input_statements: dict[str, cst.BaseStatement] = {}
        self.failure: str | None = None

    def follow(self, name: str, before: int) -> int | None:
        """The index of the statement that makes ``name`` as seen at ``before`` (None for an
        Input), after following everything it is made from."""
        found = next((i for i in range(before - 1, -1, -1) if _assigned(self.body[i], name)), None)
        if found is None:
            self._fail(f"`{name}` is not made in the block that builds the model")
            return None
        if found in self.slots or self.failure is not None:
            return found
        value = _single_assignment(self.body[found])
        assert value is not None
        if kinds.class_name(value[1]) in kinds.INPUT:
            if name not in self.inputs:
                self._fail(f"`{name}` is a keras.Input the model does not take")
            self.input_statements[name] = self.body[found]
            return None
        outer = value[1]
        layer = outer.func if isinstance(outer, cst.Call) else None
        arguments = (
            _variables(outer.args[0].value)
            if isinstance(outer, cst.Call) and len(outer.args) == 1
            else None
        )
        if not isinstance(outer, cst.Call) or not isinstance(layer, cst.Call) or not arguments:
            self._fail(
                f"`{name}` is not made by a layer called on variables, as in x = Dense(8)(x)"
            )
            return None
        self.slots[found] = Slot(layer, layer, statement=self.body[found], outer=outer, target=name)
        self.sources[found] = [self.follow(source, found) for source in arguments]
        return found

    def head(self, end: int | None) -> list[Slot]:
        """The chain making one output: its Dense/Conv, then the weightless layers after it."""
        chain: list[Slot] = []
        while end is not None:
            slot = self.slots[end]
            chain.insert(0, slot)
            if slot.name in kinds.KERNEL:
                return chain
            sources = self.sources[end]
            if slot.name not in kinds.WEIGHTLESS or len(sources) != 1:
                break
            end = sources[0]
        return []

    def _fail(self, why: str) -> None:
        self.failure = self.failure or why


def _assigned(node: cst.BaseStatement, name: str) -> bool:
    assigned = _single_assignment(node)
    return assigned is not None and assigned[0] == name


def _single_assignment(node: cst.BaseStatement) -> tuple[str, cst.BaseExpression] | None:
    if not isinstance(node, cst.SimpleStatementLine) or len(node.body) != 1:
        return None
    small = node.body[0]
    if not isinstance(small, cst.Assign) or len(small.targets) != 1:
        return None
    target = small.targets[0].target
    return (target.value, small.value) if isinstance(target, cst.Name) else None
