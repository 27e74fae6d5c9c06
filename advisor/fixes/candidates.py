"""The one loss every model of a fix step is scored with: a pure decision, no Keras.

Which fixes are tried is the search's business (:mod:`advisor.search.space`: competing fixes
are one slot, root-cause fixes are tried alone first); scoring them alike is this module's.
"""

from __future__ import annotations

from collections.abc import Iterable

from advisor.plan import TrainingPlan
from advisor.plan_edits import ReplaceHead


def scoring_loss(plans: Iterable[TrainingPlan], default: object) -> object:
    """The one loss baseline and candidates are all scored with: a loss a head repair chose
    (the user's one may not fit the targets), else ``default``, the user's."""
    return next(
        (edit.loss for plan in plans for edit in plan.edits_of(ReplaceHead) if edit.loss),
        default,
    )
