"""Where the fix that weakens the user's own regularisation goes in a finding's fixes.

A model that cannot fit its training data (stalled, underfitting) may be held back by its own
regularisation. When its dropout is heavy (:data:`advisor.model_facts.HEAVY_DROPOUT`) that is
the first suspect and its fix is tried first; otherwise it is tried last (it skips quietly on a
model with no regularisation of its own).
"""

from __future__ import annotations

from advisor.rule import RuleContext

LESS_REGULARISATION = "less-regularisation"


def with_less_regularisation(fixes: tuple[str, ...], context: RuleContext) -> tuple[str, ...]:
    if context.model is not None and context.model.heavy_dropout:
        return (LESS_REGULARISATION, *fixes)
    return (*fixes, LESS_REGULARISATION)
