"""Apply fixes by id to a plan: the registry's fixes with their default knobs (or given ones).

Pure: no Keras. The fix step, the search and the tests all apply fixes through here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from advisor.fix import Param, Skipped
from advisor.fix_registry import load_fixes
from advisor.plan import TrainingPlan


def apply_fixes(
    plan: TrainingPlan,
    fix_ids: Sequence[str],
    params: Mapping[str, Mapping[str, Param]] | None = None,
) -> tuple[TrainingPlan, list[Skipped]]:
    """``plan`` with every applicable fix of ``fix_ids`` (in order), and the skipped ones.
    ``params`` gives knob values by fix id; knobs it leaves out keep their defaults."""
    fixes = load_fixes()
    skipped: list[Skipped] = []
    for fix_id in fix_ids:
        result = fixes.find(fix_id).applied(plan, (params or {}).get(fix_id))
        if isinstance(result, Skipped):
            skipped.append(result)
        else:
            plan = result
    return plan, skipped
