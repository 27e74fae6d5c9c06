"""Find, in the script's concrete tree, the ``fit`` the advisor diagnosed, its ``compile`` and
the statement that builds the model, with the scope each lives in.

The model is followed only where the source says plainly what it is: a ``Sequential`` list, a
``Sequential()`` grown by ``.add``, or a functional chain of ``x = Layer(...)(x)`` statements,
written where it is fitted or in a ``build_model()`` of the script itself that returns it.
Anything else (a model loaded from a file, made by a factory in another module) is reported
in words, never guessed at.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, ParentNodeProvider, PositionProvider

from advisor.patch.names import ScriptNames, dotted, script_names


class Unpatchable(Exception):
    """The script has no fit call the patch can find; the message says why."""


@dataclass
class Script:
    """The parsed script with the parents and positions of its nodes."""

    module: cst.Module
    parents: Mapping[cst.CSTNode, cst.CSTNode]
    positions: Mapping[cst.CSTNode, CodeRange]
    names: ScriptNames
    calls: list[cst.Call] = field(default_factory=list)
    assignments: list[tuple[str, cst.Assign]] = field(default_factory=list)

    def line(self, node: cst.CSTNode) -> int:
        return self.positions[node].start.line

    def statement_of(self, node: cst.CSTNode) -> cst.BaseStatement:
        """The statement holding ``node`` that is a direct child of a block."""
        current = node
        while not isinstance(self.parents.get(current), cst.Module | cst.IndentedBlock):
            current = self.parents[current]
        assert isinstance(current, cst.BaseStatement)
        return current

    def scope_of(self, node: cst.CSTNode) -> cst.FunctionDef | None:
        current = self.parents.get(node)
        while current is not None and not isinstance(current, cst.FunctionDef):
            current = self.parents.get(current)
        return current

    def block_of(self, statement: cst.BaseStatement) -> cst.Module | cst.IndentedBlock:
        block = self.parents[statement]
        assert isinstance(block, cst.Module | cst.IndentedBlock)
        return block

    def method_calls(self, method: str, receiver: str | None = None) -> list[cst.Call]:
        return [
            c
            for c in self.calls
            if isinstance(c.func, cst.Attribute)
            and c.func.attr.value == method
            and (receiver is None or dotted(c.func.value) == receiver)
        ]

    def assigned_before(self, name: str, scope: cst.FunctionDef | None, line: int) -> bool:
        """Whether ``name`` is bound in ``scope`` (an argument, or assigned above ``line``)."""
        if scope is not None and any(p.name.value == name for p in scope.params.params):
            return True
        return any(
            target == name and self.scope_of(node) is scope and self.line(node) < line
            for target, node in self.assignments
        )

    def last_assignment(
        self, name: str, scope: cst.FunctionDef | None, line: int
    ) -> cst.Assign | None:
        found = [
            node
            for target, node in self.assignments
            if target == name and self.scope_of(node) is scope and self.line(node) < line
        ]
        return max(found, key=self.line, default=None)


def parse(source: str) -> Script:
    wrapper = MetadataWrapper(cst.parse_module(source))
    script = Script(
        module=wrapper.module,
        parents=wrapper.resolve(ParentNodeProvider),
        positions=wrapper.resolve(PositionProvider),
        names=script_names(wrapper.module),
    )

    class _Collect(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            script.calls.append(node)

        def visit_Assign(self, node: cst.Assign) -> None:
            for target in node.targets:
                for name in _bound_names(target.target):
                    script.assignments.append((name, node))

    wrapper.module.visit(_Collect())
    return script


def _bound_names(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, cst.Tuple | cst.List):
        return [n for element in target.elements for n in _bound_names(element.value)]
    return []


def receiver(method_call: cst.Call) -> str | None:
    """``model`` for ``model.fit(...)``: the name a method is called on."""
    func = method_call.func
    return dotted(func.value) if isinstance(func, cst.Attribute) else None


def fit_call(script: Script, fit_line: int | None) -> cst.Call:
    """The diagnosed ``.fit(...)``: the one on ``fit_line`` (the line capture recorded), or
    the only one."""
    fits = script.method_calls("fit")
    if fit_line is not None:
        on_line = [
            c
            for c in fits
            if script.positions[c].start.line <= fit_line <= script.positions[c].end.line
        ]
        if len(on_line) == 1:
            return on_line[0]
    if len(fits) != 1:  # a scaler's .fit(x) is not the model's: keep fits of compiled names
        compiled = {receiver(c) for c in script.method_calls("compile")}
        fits = [c for c in fits if receiver(c) in compiled]
    if len(fits) == 1:
        return fits[0]
    where = f" on line {fit_line}" if fit_line is not None else ""
    raise Unpatchable(f"found {len(fits)} .fit( calls and none the advisor diagnosed{where}")


def compile_call(script: Script, fit: cst.Call) -> cst.Call | None:
    """The ``compile`` of the fitted model: on the same name, in the fit's scope before it, or
    the only one of that name anywhere (a model compiled in its ``build_model()``)."""
    name = receiver(fit)
    if name is None:
        return None
    compiles = script.method_calls("compile", name)
    scope, line = script.scope_of(fit), script.line(fit)
    same_scope = [c for c in compiles if script.scope_of(c) is scope and script.line(c) < line]
    if same_scope:
        return max(same_scope, key=script.line)
    return compiles[0] if len(compiles) == 1 else None


def model_value(script: Script, fit: cst.Call, compiled: cst.Call | None) -> cst.Assign | str:
    """The assignment that builds the fitted model (where it is compiled, else where it is
    fitted), or why there is none to edit."""
    anchor = compiled or fit
    assert isinstance(anchor.func, cst.Attribute)
    receiver = dotted(anchor.func.value) or "the model"
    found = script.last_assignment(receiver, script.scope_of(anchor), script.line(anchor))
    if found is None:
        return f"the script does not build `{receiver}` where it compiles or fits it"
    return found


@dataclass(frozen=True)
class FactoryModel:
    """The model a function of the script builds and returns: its assignment there and the
    ``compile`` of that name inside the function, if any."""

    assignment: cst.Assign
    compiled: cst.Call | None


def factory_model(script: Script, assignment: cst.Assign) -> FactoryModel | None:
    """For ``model = build_model(...)``, where ``build_model`` is defined once at the top of
    the script and has one ``return m``: the statement in it that builds ``m``. None for
    anything else (a factory imported from another module, several returns)."""
    value = assignment.value
    if not isinstance(value, cst.Call) or not isinstance(value.func, cst.Name):
        return None
    name = value.func.value
    defined = [
        s for s in script.module.body if isinstance(s, cst.FunctionDef) and s.name.value == name
    ]
    if len(defined) != 1:
        return None
    (function,) = defined
    returns = _returns(function)
    if len(returns) != 1 or not isinstance(returns[0].value, cst.Name):
        return None
    built = returns[0].value.value
    line = script.line(returns[0])
    found = script.last_assignment(built, function, line)
    if found is None:
        return None
    compiles = [
        c
        for c in script.method_calls("compile", built)
        if script.scope_of(c) is function and script.line(found) < script.line(c) < line
    ]
    return FactoryModel(found, max(compiles, key=script.line, default=None))


def _returns(function: cst.FunctionDef) -> list[cst.Return]:
    """The ``return`` statements of ``function`` itself (not of functions nested in it)."""
    found: list[cst.Return] = []

    class _Collect(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is function

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

        def visit_Return(self, node: cst.Return) -> None:
            found.append(node)

    function.visit(_Collect())
    return found
