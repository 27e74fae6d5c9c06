"""The changes a patch makes to the script's tree, applied in one pass.

Handlers never rewrite the tree themselves: they say which original node becomes which new one
and which statements go before or after which original statement. One transformer then applies
it all, so edits cannot trip over each other's rewritten nodes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar, cast

import libcst as cst

Node = TypeVar("Node", bound=cst.CSTNode)


@dataclass
class Changes:
    replace: dict[cst.CSTNode, cst.CSTNode] = field(default_factory=dict)
    before: defaultdict[cst.CSTNode, list[cst.BaseStatement]] = field(
        default_factory=lambda: defaultdict(list)
    )
    after: defaultdict[cst.CSTNode, list[cst.BaseStatement]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def apply(self, module: cst.Module) -> cst.Module:
        result = module.visit(_Apply(self))
        assert isinstance(result, cst.Module)
        return result


class _Apply(cst.CSTTransformer):
    def __init__(self, changes: Changes) -> None:
        super().__init__()
        self.changes = changes

    def on_leave(
        self, original_node: Node, updated_node: Node
    ) -> Node | cst.RemovalSentinel | cst.FlattenSentinel[Node]:
        if original_node in self.changes.replace:
            return cast(Node, self.changes.replace[original_node])
        if isinstance(original_node, cst.Module | cst.IndentedBlock) and isinstance(
            updated_node, cst.Module | cst.IndentedBlock
        ):
            body = self._body(original_node.body, updated_node.body)
            return cast(Node, updated_node.with_changes(body=body))
        return updated_node

    def _body(
        self, original: Sequence[cst.CSTNode], updated: Sequence[cst.CSTNode]
    ) -> list[cst.CSTNode]:
        body: list[cst.CSTNode] = []
        for old, new in zip(original, updated, strict=True):
            before = list(self.changes.before.get(old, ()))
            first = before[0] if before else None
            statements = cst.SimpleStatementLine | cst.BaseCompoundStatement
            if isinstance(first, statements) and isinstance(new, statements):
                # The blank lines and comments above a statement stay above what goes before it.
                before[0] = first.with_changes(
                    leading_lines=(*new.leading_lines, *first.leading_lines)
                )
                new = new.with_changes(leading_lines=())
            body.extend(before)
            body.append(new)
            body.extend(self.changes.after.get(old, ()))
        return body
