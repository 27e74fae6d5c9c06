"""## What it detects
Dead ReLU units: hidden ReLU units whose output is 0 for every sample of a fixed training
batch, in a large share of some layer at the end of the probing fit.

## Why it matters
A ReLU that outputs 0 for every input also passes no gradient back: nothing can revive it, and
the layer works with the units that are left. When most of a layer is dead, the network loses
its capacity or stops learning altogether. The usual causes are a step so large that one update
pushed the pre-activations below zero for all inputs, and an initialisation (a negative bias,
tiny weights) that starts them there.

## Evidence
The probe measures, on one fixed batch of up to 256 training samples, each hidden ReLU layer's
share of units that output 0 for the whole batch (convolution channels and recurrent units count
as units). The rule fires when some layer's share at the last record is at least 50 %
(`MIN_DEAD_FRACTION`). Healthy runs of the corpus end with at most 25 % dead in any layer, in
a 16-unit layer behind an embedding. When the gradients were already exploding before the
first step, the units died of the explosion: those runs are left to the exploding-gradients
rule. Runs without a probe (`advisor check`) are not judged.

## Fix
When the units were already dead before the first step (`dead_from_start`), the
initialisation killed them: use He initialisation and zero biases (`relu-he`, not yet in the
catalogue: advice only, so the finding names no fix). When they died during training,
`lower-lr`: divide the learning rate by 10, so that no single step throws the pre-activations
below zero.

**Fix safety:** a lower learning rate cannot make dead units worse; the advisor retrains and
keeps the change only when the validation loss improves.
"""

from __future__ import annotations

from advisor.findings import Finding, Severity
from advisor.history import TrainingHistory
from advisor.rule import Rule, RuleContext
from rules._probe import MIN_DEAD_FRACTION as MIN_DEAD_FRACTION  # the threshold its doc names
from rules._probe import dead, percent


def check(history: TrainingHistory, context: RuleContext) -> list[Finding]:
    worst = dead(context)
    if worst is None:
        return []
    from_start = worst.first >= MIN_DEAD_FRACTION
    when = "already before the first step" if from_start else "after training began"
    return [
        RULE.finding(
            f"{percent(worst.value)} of the ReLU units of layer '{worst.layer.name}' output 0 "
            f"for every sample of the probe's batch at epoch {worst.epoch} ({when}): they pass "
            "no gradient and cannot recover",
            evidence={
                "layer": worst.layer.name,
                "dead_fraction": worst.value,
                "dead_fraction_first": worst.first,
                "epoch": worst.epoch,
                "dead_from_start": from_start,
            },
            fixes=() if from_start else ("lower-lr",),
        )
    ]


RULE = Rule(
    id="dead-units",
    code="ADV403",
    severity=Severity.WARNING,
    summary="Most units of a ReLU layer output 0 for every input (dead ReLUs).",
    doc=__doc__ or "",
    check=check,
    needs_probe=True,
)
