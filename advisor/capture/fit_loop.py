"""A ``fit`` called again and again in a ``for`` loop: the loop's passes are one training.

Scripts written epoch by epoch (``for epoch in range(10): model.fit(x, y, epochs=1)``) train
one model for the loop's passes, each call going on from the weights the last one left. The
call the advisor intercepts asks for one epoch; diagnosing that alone sees a one-epoch curve
and finds nothing. When the loop's count can be read (``range`` of numbers, or of names and
attributes bound to numbers when ``fit`` is reached), the advisor diagnoses the calls as one
fit of that many times the epochs. Other loops (``while``, a loop over a list) are said in a
note: their count is unknown, and the one call is diagnosed as it is.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisor.capture.fit_data import epochs_trained

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


@dataclass(frozen=True)
class FitLoop:
    """The loop around the intercepted ``fit``: its passes (None when they cannot be read)
    and its header as written, for the report."""

    passes: int | None
    header: str


def fit_loop(path: Path, line: int, namespace: Mapping[str, Any]) -> FitLoop | None:
    """The innermost loop of the fit's own scope around the ``.fit(`` on ``line``; None when
    that fit is not in a loop (or the source cannot be read)."""
    try:
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    fits = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "fit"
        and node.lineno <= line <= (node.end_lineno or node.lineno)
    ]
    if len(fits) != 1:
        return None
    current: ast.AST | None = parents.get(fits[0])
    while current is not None and not isinstance(current, _SCOPES):
        if isinstance(current, ast.For | ast.AsyncFor | ast.While):
            header = ast.get_source_segment(source, current) or ""
            first = header.split("\n")[0].rstrip(":")
            if isinstance(current, ast.While):
                return FitLoop(None, first)
            return FitLoop(_range_length(current.iter, namespace), first)
        current = parents.get(current)
    return None


def looped_fit_kwargs(
    kwargs: Mapping[str, Any], loop: FitLoop, where: str
) -> tuple[Mapping[str, Any], str]:
    """The fit's arguments as one training of all the loop's passes, and the note saying
    so (the arguments unchanged, and why, when the passes cannot be counted)."""
    if loop.passes is None or loop.passes < 2 or kwargs.get("initial_epoch"):
        return kwargs, (
            f"the fit at {where} runs in a loop (`{loop.header}`) whose passes the advisor "
            "cannot count: it diagnoses one call as if it were your whole training"
        )
    each = epochs_trained(kwargs)
    total = each * loop.passes
    note = (
        f"the fit at {where} runs in a loop (`{loop.header}`), each of its {loop.passes} "
        f"calls training on from the last: the advisor diagnoses them as one fit of "
        f"{total} epochs ({loop.passes} x {each}); callbacks and learning-rate schedules "
        "restart with each of your calls, not in its fits"
    )
    return {**kwargs, "epochs": total}, note


def _range_length(node: ast.expr, namespace: Mapping[str, Any]) -> int | None:
    """``len(range(...))`` for a ``range`` of numbers or of bound names; None otherwise."""
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "range"
        and 1 <= len(node.args) <= 3
        and not node.keywords
    ):
        return None
    bounds = [_number(arg, namespace) for arg in node.args]
    if any(b is None for b in bounds):
        return None
    return len(range(*[b for b in bounds if b is not None]))


def _number(node: ast.expr, namespace: Mapping[str, Any]) -> int | None:
    """An integer literal, or a name or attribute chain bound to one (``args.epochs``)."""
    value = node.value if isinstance(node, ast.Constant) else _bound(node, namespace)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _bound(node: ast.expr, namespace: Mapping[str, Any]) -> Any:
    """What a name or attribute chain is bound to, read from instance dictionaries only (no
    property or ``__getattr__`` of the user's code runs); None when unknown."""
    if isinstance(node, ast.Name):
        return namespace.get(node.id)
    if isinstance(node, ast.Attribute):
        owner = _bound(node.value, namespace)
        return getattr(owner, "__dict__", {}).get(node.attr)
    return None
