"""## What it detects
An output layer whose activation cannot produce the targets: a softmax over a single unit
(always exactly 1.0), a bounded activation on targets outside its range (a `sigmoid` or
`softmax` head on targets outside [0, 1], `tanh` outside [-1, 1], `relu`-like heads on negative
targets), or independent `sigmoid` units under `categorical_crossentropy` on one-hot classes,
where the loss expects one distribution over the classes. Read from the model and the training
targets; no training is needed.

## Why it matters
The model cannot fit what it can never output. A one-unit softmax predicts the same class for
every input, so accuracy is frozen at that class's share while the loss may still fall; a
sigmoid regression head on targets in the hundreds tops out at 1 and the loss sits near the
mean squared target. More epochs, scaling or a different learning rate change nothing. Sigmoid
units answer k separate yes/no questions: `categorical_crossentropy` rescales their outputs to
sum to 1, so the classes never compete and a wrong class's output is not pushed down directly.

## Evidence
The effective activation of the output Dense layer (a trailing `Activation` layer counts), its
unit count, and the minimum and maximum of the training targets, compared with the ranges in
`ACTIVATION_RANGES` (not for `sparse_categorical_crossentropy`, whose targets are class
indices). A finding from this rule explains a stalled loss or a frozen metric, so it
supersedes those rules; a loss that does not fit the labels (`loss-targets`) supersedes it.

## Fix
`repair-head`: the output layer the targets call for. Regression targets get a `linear` head;
binary labels a one-unit `sigmoid` with `binary_crossentropy`; k classes a k-unit `softmax`.

**Fix safety:** the repaired head is what the loss and the targets imply; the advisor retrains
with it and compares on the holdout, scored with one loss for baseline and fix alike.
"""

from __future__ import annotations

import math

from advisor.findings import Finding, Severity
from advisor.history import TrainingHistory
from advisor.rule import Rule, RuleContext

# The closed range each bounded activation can output (labels 0 and 1 count as reachable).
ACTIVATION_RANGES: dict[str, tuple[float, float]] = {
    "sigmoid": (0.0, 1.0),
    "softmax": (0.0, 1.0),
    "hard_sigmoid": (0.0, 1.0),
    "tanh": (-1.0, 1.0),
    "softsign": (-1.0, 1.0),
    "relu": (0.0, math.inf),
    "softplus": (0.0, math.inf),
    "exponential": (0.0, math.inf),
}

# Activations whose units are separate probabilities (multi-label heads), not one distribution.
INDEPENDENT_UNITS = ("sigmoid", "hard_sigmoid")


def check(history: TrainingHistory, context: RuleContext) -> list[Finding]:
    model = context.model
    if model is None or model.output_activation is None:
        return []
    activation, targets = model.output_activation, model.targets
    evidence: dict[str, object] = {
        "activation": activation,
        "units": model.output_units,
        "target_min": targets.minimum,
        "target_max": targets.maximum,
    }
    if activation == "softmax" and model.output_units == 1:
        message = (
            "the output layer is a softmax over 1 unit, which outputs 1.0 for every input: "
            "the model predicts one class whatever it sees"
        )
        return [RULE.finding(message, evidence=evidence, fixes=("repair-head",))]
    if model.loss_kind == "sparse":  # the targets are class indices, not output values
        return []
    units = model.output_units or 0
    if activation in INDEPENDENT_UNITS and model.loss_kind == "categorical" and targets.one_hot:
        message = (
            f"the output layer is {units} independent '{activation}' units, but "
            f"categorical_crossentropy on one-hot classes expects one distribution over them "
            "(a softmax): the classes do not compete for the probability"
        )
        return [RULE.finding(message, evidence=evidence, fixes=("repair-head",))]
    low, high = ACTIVATION_RANGES.get(activation, (-math.inf, math.inf))
    if low <= targets.minimum and targets.maximum <= high:
        return []
    return [
        RULE.finding(
            f"the output activation '{activation}' only reaches [{low:g}, {high:g}], but the "
            f"targets range from {targets.minimum:.4g} to {targets.maximum:.4g}: the model "
            "cannot predict them",
            evidence={**evidence, "range": [low, high]},
            fixes=("repair-head",),
        )
    ]


RULE = Rule(
    id="output-activation",
    code="ADV301",
    severity=Severity.ERROR,
    summary="Output activation cannot produce the targets (one-unit softmax, bounded head).",
    doc=__doc__ or "",
    check=check,
    needs_model=True,
    supersedes=("stalled", "frozen-metric"),
)
