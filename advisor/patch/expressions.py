"""Which training inputs the patch may repeat where the model is built.

An input step is adapted on the very data ``fit`` trains on. The script often passes that data
as an expression rather than a variable (``x[:600]``, ``x_train / 255.0``,
``x.astype("float32")``); repeating it is safe when evaluating it has no effect beyond reading
variables, so only such expressions are accepted: names and their attributes, subscripts and
slices, arithmetic, number and string constants, and the array methods that return a converted
copy.
"""

from __future__ import annotations

import libcst as cst

from advisor.patch.names import dotted

# Array and DataFrame methods that return a converted copy and change nothing.
_COPYING_METHODS = frozenset({"astype", "reshape", "to_numpy", "copy"})
_CONSTANTS = (cst.Integer, cst.Float, cst.SimpleString, cst.Ellipsis)
_BUILTIN_CONSTANTS = frozenset({"None", "True", "False"})


def variables_read(node: cst.BaseExpression) -> tuple[str, ...] | None:
    """The variables ``node`` reads when it only reads them; None when evaluating it could do
    more (a call of anything but a copying method, a comprehension, a lambda)."""
    if isinstance(node, cst.Name) and node.value in _BUILTIN_CONSTANTS:
        return ()
    if isinstance(node, cst.Name | cst.Attribute):
        name = dotted(node)
        return None if name is None else (name.split(".")[0],)
    if isinstance(node, _CONSTANTS):
        return ()
    if isinstance(node, cst.UnaryOperation):
        return variables_read(node.expression)
    if isinstance(node, cst.BinaryOperation):
        return _all_read([node.left, node.right])
    if isinstance(node, cst.Subscript):
        return _all_read([node.value, *(_slice_parts(e) for e in node.slice)])
    method = node.func if isinstance(node, cst.Call) else None
    if isinstance(method, cst.Attribute) and method.attr.value in _COPYING_METHODS:
        assert isinstance(node, cst.Call)
        return _all_read([method.value, *(a.value for a in node.args)])
    return None


def _slice_parts(element: cst.SubscriptElement) -> cst.BaseExpression:
    index = element.slice
    if isinstance(index, cst.Index):
        return index.value
    assert isinstance(index, cst.Slice)
    bounds = [b for b in (index.lower, index.upper, index.step) if b is not None]
    return cst.Tuple([cst.Element(b) for b in bounds])


def _all_read(nodes: list[cst.BaseExpression]) -> tuple[str, ...] | None:
    found: list[str] = []
    for node in nodes:
        if isinstance(node, cst.Tuple):
            read = _all_read([e.value for e in node.elements])
        else:
            read = variables_read(node)
        if read is None:
            return None
        found += [name for name in read if name not in found]
    return tuple(found)
