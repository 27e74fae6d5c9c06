"""What the fixes say about themselves, for ``advisor explain`` and the README's fix table.

Both are read from the fix registry (each fix's summary and knobs), so a number is defined
once, in the fix's module, and a test holds the README's table equal to :func:`fix_table`.
"""

from __future__ import annotations

from collections.abc import Sequence

from advisor.fix import Fix
from advisor.fix_registry import load_fixes
from advisor.rule import Rule

FIX_TABLE_HEADER = (
    "| id | kind | what the advisor does to the copy of your model | for |",
    "|---|---|---|---|",
)


def named_in(doc: str) -> tuple[Fix, ...]:
    """The fixes a rule's doc names (as `` `id` ``), in id order."""
    return tuple(fix for fix in load_fixes().fixes if f"`{fix.id}`" in doc)


def applied_lines(doc: str) -> tuple[str, ...]:
    """One Markdown bullet per fix the doc names: what the advisor applies for it."""
    return tuple(f"- `{fix.id}`: {fix.describe()}" for fix in named_in(doc))


def fix_table(rules: Sequence[Rule]) -> str:
    """The README's fix table: every fix, its kind, what it does and the rules naming it."""
    rows = [*FIX_TABLE_HEADER]
    for fix in load_fixes().fixes:
        naming = ", ".join(rule.id for rule in rules if f"`{fix.id}`" in rule.doc) or "-"
        rows.append(f"| `{fix.id}` | {fix.kind.value} | {fix.describe()} | {naming} |")
    return "\n".join(rows)
