"""## What it detects
Regression targets on a large scale: float targets whose typical magnitude
`sqrt(mean^2 + std^2)` is 100 or more (e.g. prices, counts, `load_diabetes`' disease
progression of 25..346), in a task that is not classification.

## Why it matters
A network's output layer starts near zero and its weights are initialised for outputs of
order one. A squared error against targets in the hundreds gives gradients thousands of times
larger than for scaled targets: with SGD the weights overflow (the loss turns inf/NaN), with
Adam the first epochs are spent only on moving the output's scale, and at a small learning
rate the loss barely moves: a stalled finding beside this one is its consequence (`explains`),
listed after it and dealt with when `scale-target` is adopted.

## Evidence
The mean and standard deviation of the finite training targets of a single-output model,
when the targets are floats (not class labels) and the loss is not a classification loss; in
a multi-output model, of each head whose targets are floats and not 0/1 labels, named in the
finding (evidence `head`).
Calibrated on `load_diabetes` (magnitude 170: SGD at 0.01 diverges on the raw targets and
trains on standardised ones); targets already scaled (magnitude about 1) stay far below.

## Fix
`scale-target`: train on standardised targets `(y - mean) / std` and put a
`keras.layers.Rescaling(scale=std, offset=mean)` after the model, so the model handed out
predicts in the user's own units and the reported losses are in those units too.

**Fix safety:** a linear change of units; the loss surface is the same up to a constant
factor, but a learning rate tuned to the raw targets may now be too small.
"""

from __future__ import annotations

import math

from advisor.findings import Finding, Severity
from advisor.history import TrainingHistory
from advisor.rule import DataProfile, Rule, RuleContext

MAX_TARGET_MAGNITUDE = 100.0


def _judge(mean: float, std: float, head: str | None) -> Finding | None:
    magnitude = math.hypot(mean, std)
    if magnitude < MAX_TARGET_MAGNITUDE:
        return None
    label = "" if head is None else f"head '{head}': "
    return RULE.finding(
        f"{label}regression targets have magnitude {magnitude:.3g} (mean {mean:.3g}, "
        f"std {std:.3g}): the output layer must learn their scale first",
        evidence={
            **({} if head is None else {"head": head}),
            "target_mean": mean,
            "target_std": std,
            "target_magnitude": magnitude,
        },
        fixes=("scale-target",),
    )


def _scales(data: DataProfile, n_classes: int | None) -> list[tuple[float, float, str | None]]:
    """Mean, spread and name of each regression head: the single head unless it is
    classification, and each float head of a multi-output model that is not class labels."""
    if len(data.heads) > 1:
        return [
            (head.mean, head.std, head.name)
            for head in data.heads
            if not head.is_labels and head.mean is not None and head.std is not None
        ]
    if n_classes is not None or data.target_mean is None or data.target_std is None:
        return []
    return [(data.target_mean, data.target_std, None)]


def check(history: TrainingHistory, context: RuleContext) -> list[Finding]:
    if context.data is None:
        return []
    judged = (_judge(*scale) for scale in _scales(context.data, context.n_classes))
    return [finding for finding in judged if finding is not None]


RULE = Rule(
    id="target-scale",
    code="ADV203",
    severity=Severity.WARNING,
    summary="Regression targets on a large scale, not standardised.",
    doc=__doc__ or "",
    check=check,
    needs_data=True,
    explains=("stalled",),
)
