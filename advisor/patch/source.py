"""Small pieces of Python source: literals, calls wrapped to the line length, and commas.

New code is written as short source text and parsed by libcst, so it is real syntax before it
enters the user's tree; elements and arguments are inserted with the commas and line breaks of
their neighbours, so a one-per-line list stays one per line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import libcst as cst

from advisor.patch.layers import argument

LINE_LENGTH = 99
INDENT = "    "


def literal(value: Any) -> str:
    """``value`` as Python source: strings double-quoted, floats short (``0.0001``)."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(float(f"{value:.6g}"))
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, tuple | list):
        items = ", ".join(literal(v) for v in value)
        return f"({items},)" if isinstance(value, tuple) and len(value) == 1 else f"[{items}]"
    raise TypeError(f"no literal for {type(value).__name__}")


def keywords(kwargs: Mapping[str, Any]) -> list[str]:
    return [f"{name}={literal(value)}" for name, value in kwargs.items()]


def call(func: str, arguments: Sequence[str], *, column: int = 0, indent: int = 0) -> str:
    """``func(arguments)`` on one line when it fits from ``column``, else the arguments on one
    line indented from ``indent`` (the column its line starts at), else one per line."""
    inline = f"{func}({', '.join(arguments)})"
    if column + len(inline) <= LINE_LENGTH or not arguments:
        return inline
    joined = ", ".join(arguments)
    if len(INDENT) + indent + len(joined) <= LINE_LENGTH:
        return f"{func}(\n{INDENT}{joined}\n)"
    lines = "".join(f"{INDENT}{argument},\n" for argument in arguments)
    return f"{func}(\n{lines})"


def listing(items: Sequence[str]) -> str:
    """A list literal, one item per line (items may span lines)."""
    body = "".join(f"{INDENT}{item.replace(chr(10), chr(10) + INDENT)},\n" for item in items)
    return f"[\n{body}]"


def statement(text: str) -> cst.BaseStatement:
    return cst.parse_statement(text if text.endswith("\n") else text + "\n")


def expression(text: str) -> cst.BaseExpression:
    return cst.parse_expression(text)


def layer_call(text: str) -> cst.Call:
    made = cst.parse_expression(text)
    assert isinstance(made, cst.Call), text
    return made


# --- commas ------------------------------------------------------------------------------------

Item = TypeVar("Item", cst.BaseElement, cst.Arg)


def _plain(whitespace: cst.BaseParenthesizableWhitespace) -> cst.BaseParenthesizableWhitespace:
    """The same line break and indentation without the comment a neighbour had."""
    if isinstance(whitespace, cst.ParenthesizedWhitespace):
        return whitespace.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=())
    return whitespace


def inner_comma(
    items: Sequence[cst.BaseElement | cst.Arg], opening: cst.BaseParenthesizableWhitespace
) -> cst.Comma:
    """The comma between two items, as the sequence already writes it (after its first
    item, or from the whitespace after its opening bracket when it has only one)."""
    if len(items) > 1 and isinstance(items[0].comma, cst.Comma):
        return items[0].comma.with_changes(whitespace_after=_plain(items[0].comma.whitespace_after))
    if isinstance(opening, cst.ParenthesizedWhitespace):
        return cst.Comma(whitespace_after=_plain(opening))
    return cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


def with_commas(
    original: Sequence[Item], items: list[Item], opening: cst.BaseParenthesizableWhitespace
) -> list[Item]:
    """``items`` (the original ones among new ones) with commas: every item but the last gets a
    comma like its neighbours', the last keeps the original last item's (trailing or none)."""
    if not items:
        return items
    comma = inner_comma(original, opening)
    last_comma: cst.Comma | cst.MaybeSentinel = (
        original[-1].comma if original else cst.MaybeSentinel.DEFAULT
    )
    done: list[Item] = []
    for index, item in enumerate(items):
        if index == len(items) - 1:
            last = original[-1] if original else None
            if isinstance(item, cst.Arg) and isinstance(last, cst.Arg) and item is not last:
                # The line break before ``)`` follows the last argument.
                item = item.with_changes(whitespace_after_arg=last.whitespace_after_arg)
            done.append(item.with_changes(comma=last_comma))
        elif isinstance(item, cst.Arg) and original and item is original[-1]:
            done.append(
                item.with_changes(comma=comma, whitespace_after_arg=cst.SimpleWhitespace(""))
            )
        elif not isinstance(item.comma, cst.Comma) or (original and item is original[-1]):
            done.append(item.with_changes(comma=comma))
        else:
            done.append(item)
    return done


def set_arguments(
    node: cst.Call, arguments: Mapping[str, str | None], positions: Mapping[str, int]
) -> cst.Call:
    """``node`` with each argument set to the given source, or removed for None: replaced
    where the call gives it (by keyword or position), else added as a keyword at the end."""
    items = list(node.args)
    for name, text in arguments.items():
        given = argument(node, name, positions.get(name))
        if given is not None and text is None:
            items.remove(given)
        elif given is not None and text is not None:
            items[items.index(given)] = given.with_changes(value=expression(text))
        elif text is not None:
            items.append(
                cst.Arg(
                    expression(text),
                    keyword=cst.Name(name),
                    equal=cst.AssignEqual(
                        whitespace_before=cst.SimpleWhitespace(""),
                        whitespace_after=cst.SimpleWhitespace(""),
                    ),
                )
            )
    return node.with_changes(args=with_commas(node.args, items, node.whitespace_before_args))


def _break(indent: str) -> cst.ParenthesizedWhitespace:
    return cst.ParenthesizedWhitespace(
        first_line=cst.TrailingWhitespace(), indent=True, last_line=cst.SimpleWhitespace(indent)
    )


def wrapped(node: cst.Call, *, column: int, line_start: int, indent: str = "") -> cst.Call:
    """``node`` as it is when it fits on its line from ``column``, else with its arguments on
    one line four spaces in from ``line_start`` (the column its line starts at), else one per
    line, as ruff and black format a call. ``indent`` is the whitespace its line starts with
    inside its block (a list element's indentation)."""
    code = cst.Module([]).code_for_node(node)
    first, *rest = code.split("\n")
    fits = column + len(first) + 1 <= LINE_LENGTH and all(
        line_start + len(line) + 1 <= LINE_LENGTH for line in rest
    )
    if fits or "#" in code or not node.args:  # a comment inside would be lost: left as it is
        return node
    inner = indent + INDENT
    arguments = [
        a.with_changes(
            comma=cst.MaybeSentinel.DEFAULT, whitespace_after_arg=cst.SimpleWhitespace("")
        )
        for a in node.args
    ]
    joined = ", ".join(cst.Module([]).code_for_node(a) for a in arguments)
    last = _break(indent)
    if line_start + len(INDENT) + len(joined) <= LINE_LENGTH:
        between = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        args = [a.with_changes(comma=between) for a in arguments[:-1]]
        args.append(arguments[-1].with_changes(whitespace_after_arg=last))
    else:
        between = cst.Comma(whitespace_after=_break(inner))
        args = [a.with_changes(comma=between) for a in arguments[:-1]]
        args.append(arguments[-1].with_changes(comma=cst.Comma(whitespace_after=last)))
    return node.with_changes(whitespace_before_args=_break(inner), args=args)
