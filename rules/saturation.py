"""## What it detects
Saturated sigmoid or tanh units: most outputs of a hidden sigmoid/tanh layer sit at the ends of
the activation's range at the end of the probing fit.

## Why it matters
At its bounds a sigmoid or tanh is flat: its derivative is close to 0, so almost no gradient
passes through the unit and the layers before it stop learning. Saturated units also carry
little information (they act as binary switches). The usual causes are inputs on large scales
(not standardised), initial weights that are too large, or a step that pushed weights far out.

## Evidence
The probe measures, on one fixed batch of up to 256 training samples, each hidden sigmoid/tanh
layer's share of outputs within 1 % of the range's ends (sigmoid below 0.01 or above 0.99, tanh
beyond +-0.98). The rule fires when some layer's share at the last record is at least 50 %
(`MIN_SATURATED_FRACTION`). Output layers are not judged: a confident prediction is the goal.
Nor is saturation that grew during training while the model learned its task: when the layer
was below the threshold before the first step and the training loss ended under a tenth
(`LEARNED_SHARE`) of the best constant prediction's loss (measured on the targets by
`diagnose`), the units are confident features of a fit that worked (a GRU separating two
vocabularies ends 88 % saturated at a loss of 0.001 against 0.69 for guessing), not a fault.
Runs without a probe (`advisor check`) are not judged. Saturated units pass no gradient, so a
stalled or underfit run beside this finding is its consequence (`explains`): their fixes (a
learning rate, a bigger model, more epochs) join the search only as extras.

## Fix
`standardize` first: inputs scaled to zero mean and unit variance bring pre-activations back
into the responsive range. Replacing the saturating hidden activations by ReLU with He
initialisation (`relu-he`) removes the cause altogether, and `batch-norm` before each hidden
activation keeps the pre-activations centred. The advisor trains them together and keeps the
result only when the selection data confirms it.

**Fix safety:** standardising changes nothing the model could not learn; the advisor retrains
and compares on validation data before keeping either fix.
"""

from __future__ import annotations

import math

from advisor.findings import Finding, Severity
from advisor.history import TrainingHistory
from advisor.rule import Rule, RuleContext
from rules._probe import Worst, percent, worst_at_end

MIN_SATURATED_FRACTION = 0.5
# A training loss this share of the constant prediction's, or less, is a task learned.
LEARNED_SHARE = 0.1


def measure(context: RuleContext) -> Worst | None:
    """The most saturated hidden sigmoid/tanh layer, when its share reaches the threshold."""
    return worst_at_end(
        context.probe, lambda layer: layer.saturated_fractions, MIN_SATURATED_FRACTION
    )


def learned_while_saturating(history: TrainingHistory, context: RuleContext, worst: Worst) -> bool:
    """Whether the layer saturated only during a fit that learned its task (see the doc)."""
    model, loss = context.model, history.get("loss")
    if worst.first >= MIN_SATURATED_FRACTION or model is None or loss is None:
        return False
    reference = model.constant_loss
    finite = [v for v in loss.values if math.isfinite(v)]
    return bool(reference and reference > 0 and finite and finite[-1] < LEARNED_SHARE * reference)


def check(history: TrainingHistory, context: RuleContext) -> list[Finding]:
    worst = measure(context)
    if worst is None or learned_while_saturating(history, context, worst):
        return []
    return [
        RULE.finding(
            f"{percent(worst.value)} of the outputs of {worst.layer.activation} layer "
            f"'{worst.layer.name}' sit within 1% of its bounds at epoch {worst.epoch} "
            f"({percent(worst.first)} before the first step): the saturated units pass "
            "almost no gradient",
            evidence={
                "layer": worst.layer.name,
                "activation": worst.layer.activation,
                "saturated_fraction": worst.value,
                "saturated_fraction_first": worst.first,
                "epoch": worst.epoch,
            },
            fixes=("standardize", "relu-he", "batch-norm"),
        )
    ]


RULE = Rule(
    id="saturation",
    code="ADV404",
    severity=Severity.WARNING,
    summary="Hidden sigmoid/tanh outputs stuck at their bounds (saturated units).",
    doc=__doc__ or "",
    check=check,
    needs_probe=True,
    supersedes=("vanishing-gradients",),
    # It names why the gradient vanishes, so it explains what vanishing gradients explain.
    explains=("stalled", "underfitting"),
)
