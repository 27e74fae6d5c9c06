"""## What it detects
A cross-entropy loss whose `from_logits` setting contradicts the output layer: `from_logits=True`
on a `sigmoid` or `softmax` output (probabilities squashed a second time), or the default
`from_logits=False` on an output with no probability activation (raw scores read as
probabilities). Read from the compile arguments and the model; no training is needed.

## Why it matters
With `from_logits=True` on probabilities every prediction is pushed towards the middle: the
gradients shrink and the loss cannot get near zero. With raw scores read as probabilities the
loss clips them into [1e-7, 1 - 1e-7], so every score beyond that range gets no gradient at
all. Both train without an error and end worse than they should, so the run looks underfit
or stalled: this rule `explains` those findings, which are listed after it as its consequence.

## Evidence
The loss family and its `from_logits` flag (from the loss object; a loss given by name uses
Keras' default, False) against the effective output activation in `PROBABILITY_ACTIVATIONS`.

## Fix
`repair-head`: keep the output activation and use the loss with `from_logits=False` when the
output is a probability; put the activation the loss expects on a raw output otherwise.

**Fix safety:** when the loss changes, baseline and fix are both scored with the repaired loss
on their predictions.
"""

from __future__ import annotations

from advisor.findings import Finding, Severity
from advisor.history import TrainingHistory
from advisor.rule import Rule, RuleContext

PROBABILITY_ACTIVATIONS = ("sigmoid", "softmax")
CROSS_ENTROPY_KINDS = ("binary", "sparse", "categorical")


def check(history: TrainingHistory, context: RuleContext) -> list[Finding]:
    model = context.model
    if model is None or model.output_activation is None:
        return []
    if model.loss_kind not in CROSS_ENTROPY_KINDS:
        return []
    activation = model.output_activation
    probabilities = activation in PROBABILITY_ACTIVATIONS
    if model.from_logits and probabilities:
        problem = (
            f"{model.loss_name} has from_logits=True, but the output is already a "
            f"'{activation}' probability: it is squashed twice"
        )
    elif not model.from_logits and not probabilities:
        problem = (
            f"{model.loss_name} expects probabilities (from_logits=False), but the output "
            f"activation is '{activation}': raw scores are clipped into [1e-7, 1 - 1e-7]"
        )
    else:
        return []
    return [
        RULE.finding(
            problem,
            evidence={
                "loss": model.loss_name,
                "from_logits": model.from_logits,
                "activation": activation,
            },
            fixes=("repair-head",),
        )
    ]


RULE = Rule(
    id="from-logits",
    code="ADV303",
    severity=Severity.WARNING,
    summary="from_logits of the loss contradicts the output activation.",
    doc=__doc__ or "",
    check=check,
    needs_model=True,
    explains=("underfitting", "stalled"),
)
