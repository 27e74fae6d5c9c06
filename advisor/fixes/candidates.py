"""Which fix combinations to train for a set of findings: a pure decision, no Keras.

Fixes that compete (dropout, L2 and elastic-net all regularise; which one suits a model is an
empirical question) are each tried with the other fixes, and the selection data decides; the
data fixes are also tried alone when training fixes come with them. Both sets come from the
fix registry (``competes_with`` and ``FixKind.DATA``), never from a list of ids here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from advisor.findings import Finding
from advisor.fix import FixKind
from advisor.fix_registry import load_fixes
from advisor.plan import TrainingPlan
from advisor.plan_edits import ReplaceHead


def alternatives() -> tuple[str, ...]:
    """The fixes tried as alternatives to one another."""
    return load_fixes().competing()


def data_fixes() -> tuple[str, ...]:
    return load_fixes().of_kind(FixKind.DATA)


def wanted_fixes(findings: Sequence[Finding]) -> tuple[str, ...]:
    """The fix ids the findings suggest, most severe finding first, without repeats."""
    known = set(load_fixes().ids)
    ordered: dict[str, None] = {}
    for finding in findings:
        ordered.update((fix, None) for fix in finding.fixes if fix in known)
    return tuple(ordered)


def candidate_fix_sets(wanted: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The combinations worth training: all suggested fixes together, each competing fix alone
    when several are suggested, and the data fixes alone when training fixes come with them (a
    stall caused by NaN inputs is cured by imputing, and a lower learning rate only slows it)."""
    rivals = set(alternatives())
    competing = [fix for fix in wanted if fix in rivals]
    if len(competing) > 1:
        sets = [tuple(f for f in wanted if f not in competing or f == one) for one in competing]
    else:
        sets = [wanted]
    data = set(data_fixes())
    data_only = tuple(f for f in wanted if f in data)
    if data_only and data_only != wanted:
        sets.append(data_only)
    return sets


def scoring_loss(plans: Iterable[TrainingPlan], default: object) -> object:
    """The one loss baseline and candidates are all scored with: a loss a head repair chose
    (the user's one may not fit the targets), else ``default``, the user's."""
    return next(
        (edit.loss for plan in plans for edit in plan.edits_of(ReplaceHead) if edit.loss),
        default,
    )
