"""The patch being built: what the edits asked of the model, ``compile`` and ``fit``.

Handlers (one per edit type, :mod:`advisor.patch.handlers`) record their change here, or a
sentence in :attr:`Draft.not_applied` when it cannot be written safely; :meth:`Draft.write`
turns the whole into :class:`~advisor.patch.changes.Changes` once every edit has spoken, so
two edits of the same call (a new learning rate, then ``clipnorm``) make one optimizer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from advisor.patch import layers as kinds
from advisor.patch.changes import Changes
from advisor.patch.expressions import variables_read
from advisor.patch.facts import ScriptFacts
from advisor.patch.locate import Script, receiver
from advisor.patch.model import ModelSite
from advisor.patch.names import dotted
from advisor.patch.source import call, literal, set_arguments, statement, wrapped

_COMPILE_POSITIONS = {"optimizer": 0, "loss": 1, "metrics": 2}
_FIT_POSITIONS = {"x": 0, "y": 1, "batch_size": 2, "epochs": 3}


@dataclass
class OptimizerDraft:
    """The optimizer the patch writes: its class, its keyword arguments as source, and the
    learning rate as a number (None when it is a schedule). ``schedule`` is the schedule's
    constructor call (inline, or bound once to the variable the optimizer reads), whose
    ``initial_learning_rate`` the edits scale by ``schedule_factor``; ``changed`` is whether
    any edit changed the optimizer, so an untouched one is not written again. ``rate_factor``
    is what the edits scaled the script's own ``learning_rate`` expression by."""

    class_name: str
    func: str
    arguments: dict[str, str]
    learning_rate: float | None
    schedule: cst.Call | None = None
    schedule_factor: float = 1.0
    rate_factor: float = 1.0
    changed: bool = False

    def written_rate(self) -> str | None:
        """``learning_rate`` as the patch writes it: where the script gave a number or none,
        the rate the advisor trained with; where it gave an expression (a command-line flag,
        a constant), that expression scaled, so the script's own knob still sets it."""
        given = self.arguments.get("learning_rate")
        if self.learning_rate is None or self.rate_factor == 1.0:
            return given
        if given is None or _is_number(given):
            return literal(self.learning_rate)
        expression = cst.parse_expression(given)
        simple = isinstance(expression, cst.Name | cst.Attribute | cst.Call | cst.Subscript)
        return f"{given if simple else f'({given})'} * {literal(self.rate_factor)}"


@dataclass
class Draft:
    script: Script
    facts: ScriptFacts
    fit: cst.Call
    compile: cst.Call | None
    model: ModelSite | str
    not_applied: list[str] = field(default_factory=list)
    optimizer: OptimizerDraft | None = None
    # The ``opt = keras.optimizers.SGD(...)`` call a ``compile(optimizer=opt)`` reads, which
    # the patch edits where it is made (None: the optimizer is written into compile).
    optimizer_made_at: cst.Call | None = None
    loss: str | None = None
    metrics: list[str] = field(default_factory=list)
    fit_arguments: dict[str, str] = field(default_factory=dict)
    callbacks: list[str] = field(default_factory=list)
    before_fit: list[str] = field(default_factory=list)
    before_compile: list[str] = field(default_factory=list)
    # Statements right after fit, and whether the model is compiled again after them (as the
    # script compiles it) because they made a new model from the fitted one.
    after_fit: list[str] = field(default_factory=list)
    recompile_after_fit: bool = False

    def skip(self, edit: Any, why: str) -> None:
        self.not_applied.append(f"{edit.fix}: {why}")

    def model_site(self, edit: Any) -> ModelSite | None:
        """The model to edit, or None after saying why ``edit`` cannot be applied."""
        if isinstance(self.model, str):
            self.skip(edit, self.model)
            return None
        return self.model

    @property
    def fit_in_loop(self) -> bool:
        """Whether the diagnosed ``fit`` runs in a ``for`` or ``while`` loop of its scope."""
        current = self.script.parents.get(self.fit)
        while current is not None and not isinstance(current, cst.FunctionDef | cst.Lambda):
            if isinstance(current, cst.For | cst.While):
                return True
            current = self.script.parents.get(current)
        return False

    def fit_argument(self, name: str) -> cst.BaseExpression | None:
        """The value the script passes to ``fit`` as ``name``."""
        given = kinds.argument(self.fit, name, _FIT_POSITIONS.get(name))
        return None if given is None else given.value

    def compile_argument(self, name: str) -> cst.BaseExpression | None:
        if self.compile is None:
            return None
        given = kinds.argument(self.compile, name, _COMPILE_POSITIONS[name])
        return None if given is None else given.value

    def evaluate_unpacked(self) -> bool:
        """Whether the script unpacks ``model.evaluate(...)`` (``loss, accuracy = ...``), which
        one more compiled metric would break."""
        for found in self.script.method_calls("evaluate", receiver(self.fit)):
            parent = self.script.parents.get(found)
            if isinstance(parent, cst.Assign) and any(
                isinstance(t.target, cst.Tuple | cst.List) for t in parent.targets
            ):
                return True
        return False

    def code(self, node: cst.CSTNode) -> str:
        return self.script.module.code_for_node(node)

    def training_input(self, edit: Any, site: ModelSite) -> str | None:
        """The code of what ``fit`` trains on (a variable, or an expression that only reads
        variables, see :mod:`advisor.patch.expressions`), when every variable it reads is
        defined where the model is built (an input step is adapted on it there); None after
        saying why not."""
        x = self.fit_argument("x")
        read = None if x is None else variables_read(x)
        if x is None or read is None:
            self.skip(edit, "the training inputs passed to fit are not a variable the patch reads")
            return None
        where = f"in {site.scope.name.value}()" if site.scope else "at the top of the script"
        for name in read:
            if not self.script.assigned_before(name, site.scope, site.line):
                self.skip(
                    edit,
                    f"`{name}`, in the training inputs, is not defined where the model is built "
                    f"({where})",
                )
                return None
        return self.code(x)

    def edit_optimizer(self, edit: Any) -> OptimizerDraft | None:
        """The optimizer to change, read from the script on first use; None after saying
        why it cannot be changed (an optimizer made elsewhere and passed as a variable)."""
        if self.optimizer is not None:
            return self.optimizer
        if self.compile is None:
            self.skip(edit, "the script's compile call was not found")
            return None
        given = self.compile_argument("optimizer")
        if isinstance(given, cst.Name):
            made = self._made_by_call(given.value, self.compile)
            if made is None:
                self.skip(
                    edit, f"the optimizer is `{given.value}`, made elsewhere; change it there"
                )
                return None
            self.optimizer_made_at = given = made
        if given is None or isinstance(given, cst.SimpleString):
            func = self.script.names.ref("optimizers", self.facts.optimizer)
            self.optimizer = OptimizerDraft(
                self.facts.optimizer, func, {}, self.facts.learning_rate
            )
        elif isinstance(given, cst.Call) and dotted(given.func):
            self.optimizer = self._read_optimizer(edit, given)
        else:
            self.skip(
                edit,
                f"the optimizer is `{self.code(given)}`, made elsewhere; change it there",
            )
        return self.optimizer

    def _made_by_call(self, name: str, used: cst.Call) -> cst.Call | None:
        """The constructor call ``name`` was last assigned above ``used`` in its scope, when it
        is the only place the script binds ``name`` (a rebinding in a branch or a loop would
        make the edited call a guess)."""
        scope = self.script.scope_of(used)
        bindings = [n for target, n in self.script.assignments if target == name]
        made = self.script.last_assignment(name, scope, self.script.line(used))
        if made is None or bindings != [made] or not isinstance(made.value, cst.Call):
            return None
        return made.value if dotted(made.value.func) else None

    def _read_optimizer(self, edit: Any, given: cst.Call) -> OptimizerDraft | None:
        """The script's optimizer constructor as a draft: its class and keyword arguments (a
        first positional argument is the learning rate); None after saying why not."""
        func = dotted(given.func) or ""
        arguments = {}
        for number, argument in enumerate(given.args):
            name = (
                argument.keyword.value
                if argument.keyword
                else ("learning_rate" if number == 0 else "")
            )
            if not name or argument.star:
                why = f"the optimizer `{self.code(given)}` takes arguments the patch cannot read"
                self.skip(edit, why)
                return None
            arguments[name] = self.code(argument.value)
        draft = OptimizerDraft(func.rpartition(".")[2], func, arguments, self.facts.learning_rate)
        rate = kinds.argument(given, "learning_rate", 0)
        if draft.learning_rate is None and rate is not None:
            value = rate.value
            if isinstance(value, cst.Name):
                draft.schedule = self._made_by_call(value.value, given)
            elif isinstance(value, cst.Call) and dotted(value.func):
                draft.schedule = value
        return draft

    def write(self, changes: Changes) -> None:
        if not isinstance(self.model, str):
            self.model.write(changes, self.script)
        self._write_compile(changes)
        fit_statement = self.script.statement_of(self.fit)
        changes.before[fit_statement].extend(statement(s) for s in self.before_fit)
        if self.callbacks:
            given = self.fit_argument("callbacks")
            self.fit_arguments["callbacks"] = self._extended(given, self.callbacks)
        if self.fit_arguments:
            changes.replace[self.fit] = self._wrapped(
                set_arguments(self.fit, self.fit_arguments, _FIT_POSITIONS), self.fit
            )
        changes.after[fit_statement].extend(statement(s) for s in self.after_fit)
        if self.recompile_after_fit and self.compile is not None:
            compiled = changes.replace.get(self.compile, self.compile)
            changes.after[fit_statement].append(statement(self.code(compiled)))
        if self.script.names.imports_needed:
            _add_imports(self.script, changes)

    def _write_compile(self, changes: Changes) -> None:
        if self.compile is None:
            return
        arguments: dict[str, str] = {}
        optimizer = self._written_optimizer(changes)
        if optimizer is not None:
            arguments["optimizer"] = optimizer
        if self.loss is not None:
            arguments["loss"] = self.loss
        if self.metrics:
            arguments["metrics"] = self._extended(self.compile_argument("metrics"), self.metrics)
        changes.before[self.script.statement_of(self.compile)].extend(
            statement(s) for s in self.before_compile
        )
        if arguments:
            changes.replace[self.compile] = self._wrapped(
                set_arguments(self.compile, arguments, _COMPILE_POSITIONS), self.compile
            )

    def _written_optimizer(self, changes: Changes) -> str | None:
        """The optimizer as ``compile`` gets it when that argument changes (None: it does not;
        an optimizer or schedule made in its own statement is edited there instead)."""
        o = self.optimizer
        if o is None:
            return None
        kwargs = dict(o.arguments)
        rate = o.written_rate()
        if rate is not None and "learning_rate" in kwargs:
            kwargs["learning_rate"] = rate
        elif rate is not None:
            kwargs = {"learning_rate": rate, **kwargs}
        if o.schedule is not None and o.schedule_factor != 1.0:
            scaled = _scaled_schedule(o.schedule, o.schedule_factor, self.code)
            if self.code(o.schedule) == kwargs.get("learning_rate"):  # written inline
                kwargs["learning_rate"] = self.code(scaled)
                o.changed = True
            else:  # where the script binds it: the optimizer still reads the variable
                changes.replace[o.schedule] = self._wrapped(scaled, o.schedule)
        if not o.changed:
            return None
        made_at = self.optimizer_made_at
        if made_at is not None:  # edited where the script makes it: compile(optimizer=opt)
            made = set_arguments(made_at, kwargs, {"learning_rate": 0})
            changes.replace[made_at] = self._wrapped(made, made_at)
            return None
        return call(o.func, [f"{k}={v}" for k, v in kwargs.items()], column=len("    optimizer="))

    def _wrapped(self, node: cst.Call, original: cst.Call) -> cst.Call:
        """A changed statement-level call, wrapped when it grew too long for its line."""
        line_start = self.script.positions[self.script.statement_of(original)].start.column
        column = self.script.positions[original].start.column
        return wrapped(node, column=column, line_start=line_start)

    def _extended(self, given: cst.BaseExpression | None, new: list[str]) -> str:
        """The script's list (a literal, or any expression unpacked) with ``new`` at its end."""
        kept: list[str] = []
        if isinstance(given, cst.List):
            kept = [self.code(e.value) for e in given.elements]
        elif given is not None and not (isinstance(given, cst.Name) and given.value == "None"):
            kept = [f"*{self.code(given)}"]
        return f"[{', '.join([*kept, *new])}]"


def _is_number(source: str) -> bool:
    try:
        float(source)
    except ValueError:
        return False
    return True


# Keras schedules whose first parameter is ``initial_learning_rate`` (not
# PiecewiseConstantDecay's boundaries, nor a custom schedule's unknown first parameter).
_RATE_FIRST = frozenset(
    (
        "ExponentialDecay",
        "InverseTimeDecay",
        "PolynomialDecay",
        "CosineDecay",
        "CosineDecayRestarts",
    )
)


def initial_rate(schedule: cst.Call) -> cst.Arg | None:
    """The argument giving the schedule's starting learning rate, if the call shows it."""
    first = 0 if (dotted(schedule.func) or "").rpartition(".")[2] in _RATE_FIRST else None
    return kinds.argument(schedule, "initial_learning_rate", first)


def _scaled_schedule(schedule: cst.Call, factor: float, code: Any) -> cst.Call:
    """The schedule call with its ``initial_learning_rate`` times ``factor``: a number
    literal becomes the product, any other expression is multiplied in the source."""
    given = initial_rate(schedule)
    assert given is not None  # the handler checked it
    value = given.value
    if isinstance(value, cst.Integer | cst.Float):
        scaled = literal(float(value.evaluated_value) * factor)
    else:
        scaled = f"{code(value)} * {factor:g}"
    return schedule.with_changes(
        args=[
            a.with_changes(value=cst.parse_expression(scaled)) if a is given else a
            for a in schedule.args
        ]
    )


def _add_imports(script: Script, changes: Changes) -> None:
    """``import keras`` (and NumPy) after the script's last top-level import."""
    body = script.module.body
    imports = [
        s
        for s in body
        if isinstance(s, cst.SimpleStatementLine)
        and any(isinstance(small, cst.Import | cst.ImportFrom) for small in s.body)
    ]
    new = [statement(text) for text in script.names.imports_needed]
    if imports:
        changes.after[imports[-1]].extend(new)
    elif body and _is_docstring(body[0]):
        changes.after[body[0]].extend(new)
    elif body:
        changes.before[body[0]].extend(new)


def _is_docstring(node: cst.BaseStatement) -> bool:
    return (
        isinstance(node, cst.SimpleStatementLine)
        and isinstance(node.body[0], cst.Expr)
        and isinstance(node.body[0].value, cst.SimpleString)
    )
