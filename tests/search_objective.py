"""A cheap deterministic stand-in for training, for the search's own tests.

What those tests check is the search (space, sampler, pruner, budget, leave-one-out), not
Keras: each fix moves a made-up selection loss by a known amount, and the per-epoch curve
falls towards it, so that a pruner has something to read.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from advisor.fix import Fix, FixKind, Knob, Param
from advisor.search import Changes, ReportEpoch, TrialOutcome


def _unchanged(plan: object, params: Mapping[str, Param]) -> object:
    return plan


def fake_fix(
    fix_id: str,
    *knobs: Knob,
    competes_with: tuple[str, ...] = (),
    kind: FixKind = FixKind.OPTIMIZER,
) -> Fix:
    return Fix(
        id=fix_id,
        kind=kind,
        summary=fix_id,
        doc="",
        apply=_unchanged,  # type: ignore[arg-type]
        knobs=knobs,
        competes_with=competes_with,
    )


LR_FACTOR = Knob("factor", 0.1, low=1e-4, high=1e3, log=True)
FIXES = {
    fix.id: fix
    for fix in (
        fake_fix("lower-lr", LR_FACTOR),
        fake_fix("dropout", Knob("rate", 0.3, low=0.05, high=0.6), competes_with=("l2",)),
        fake_fix("l2", Knob("l2", 1e-3, low=1e-6, high=1e-1, log=True)),
        fake_fix("early-stopping", Knob("patience", 5, low=1, high=10)),
        fake_fix("diverge"),
        fake_fix("relu-he", Knob("activation", "relu", choices=("relu", "elu"))),
        fake_fix("impute", kind=FixKind.DATA),
        fake_fix("standardize", kind=FixKind.DATA),
    )
}


def lookup(fix_id: str) -> Fix:
    return FIXES[fix_id]


def final_loss(changes: Changes, *, best_factor: float = 0.03) -> float:
    """1.0 for the user's plan; each fix moves it by a known amount."""
    loss = 1.0
    if "diverge" in changes:
        return math.nan
    if "lower-lr" in changes:
        factor = float(changes["lower-lr"]["factor"])
        loss -= 0.5 * math.exp(-((math.log10(factor) - math.log10(best_factor)) ** 2))
    if "dropout" in changes:
        loss -= 0.2 - abs(float(changes["dropout"]["rate"]) - 0.2)
    if "l2" in changes:
        loss -= 0.1
    if "relu-he" in changes:
        loss -= 0.05 if changes["relu-he"]["activation"] == "elu" else 0.1
    return loss  # early-stopping buys nothing


@dataclass
class Objective:
    """A trial runner: ``epochs`` per trial, the loss falling to :func:`final_loss`; it keeps
    every call (changes, epochs run) and optionally appends each to ``log`` (one JSON line)."""

    epochs: int
    best_factor: float = 0.03
    log: Path | None = None
    calls: list[tuple[Changes, int]] = field(default_factory=list)

    def __call__(self, changes: Changes, report_epoch: ReportEpoch) -> TrialOutcome:
        final = final_loss(changes, best_factor=self.best_factor)
        curve: list[float] = []
        pruned = False
        for epoch in range(1, self.epochs + 1):
            curve.append(final + 0.5 / epoch)
            if report_epoch(epoch, curve[-1]):
                pruned = epoch < self.epochs
                break
        self.calls.append((changes, len(curve)))
        if self.log is not None:
            with self.log.open("a") as out:
                out.write(json.dumps({"pid": os.getpid(), "changes": changes}) + "\n")
        return TrialOutcome(curve[-1], len(curve), pruned=pruned, curve=tuple(curve))
