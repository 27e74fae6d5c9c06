"""What several built-in fixes check or compute the same way (no fix ids here)."""

from __future__ import annotations

from collections.abc import Mapping

from advisor.fix import Param, Skipped
from advisor.plan import TrainingPlan


def rewrites_layers(fix: str, plan: TrainingPlan) -> Skipped | None:
    """Layer rewrites need a Sequential or functional model: a subclassed one is Python code."""
    if plan.model.kind == "subclassed":
        return Skipped(
            fix,
            "a subclassed model's layers cannot be rewritten from outside; "
            "add it in the model's __init__/call",
        )
    return None


def no_site(fix: str, sites: int | None, what: str) -> Skipped | None:
    """Skipped when the model has nowhere to put the change (``sites`` None: unknown)."""
    return Skipped(fix, f"the model has {what} to add it to") if sites == 0 else None


def patience(share: float, floor: int, epochs: int) -> int:
    """Patience as a share of the epoch budget, so short probes can still stop or decay."""
    return max(floor, round(epochs * share))


def number(params: Mapping[str, Param], name: str) -> float:
    return float(params[name])


def count(params: Mapping[str, Param], name: str) -> int:
    return round(float(params[name]))
