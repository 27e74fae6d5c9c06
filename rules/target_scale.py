"""## What it detects
Regression targets on a large scale: float targets whose typical magnitude
`sqrt(mean^2 + std^2)` is 100 or more (e.g. prices, counts, `load_diabetes`' disease
progression of 25..346), in a task that is not classification.

## Why it matters
A network's output layer starts near zero and its weights are initialised for outputs of
order one. A squared error against targets in the hundreds gives gradients thousands of times
larger than for scaled targets: with SGD the weights overflow (the loss turns inf/NaN), with
Adam the first epochs are spent only on moving the output's scale.

## Evidence
The mean and standard deviation of the finite training targets of a single-output model,
when the targets are floats (not class labels) and the loss is not a classification loss.
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
from advisor.rule import Rule, RuleContext

MAX_TARGET_MAGNITUDE = 100.0


def check(history: TrainingHistory, context: RuleContext) -> list[Finding]:
    data = context.data
    if data is None or context.n_classes is not None:
        return []
    if data.target_mean is None or data.target_std is None:
        return []
    magnitude = math.hypot(data.target_mean, data.target_std)
    if magnitude < MAX_TARGET_MAGNITUDE:
        return []
    return [
        RULE.finding(
            f"regression targets have magnitude {magnitude:.3g} (mean {data.target_mean:.3g}, "
            f"std {data.target_std:.3g}): the output layer must learn their scale first",
            evidence={
                "target_mean": data.target_mean,
                "target_std": data.target_std,
                "target_magnitude": magnitude,
            },
            fixes=("scale-target",),
        )
    ]


RULE = Rule(
    id="target-scale",
    code="ADV203",
    severity=Severity.WARNING,
    summary="Regression targets on a large scale, not standardised.",
    doc=__doc__ or "",
    check=check,
    needs_data=True,
)
