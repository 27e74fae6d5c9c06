"""## What it detects
Exploding gradients: some layer's gradient is far larger than its weights, or the gradients
overflow to NaN/inf during the probing fit although they were finite before the first step.

## Why it matters
A gradient many times larger than the weights it updates means that one plain SGD step
replaces the weights instead of adjusting them: the loss jumps, the weights grow, the next
gradient is larger still, and training ends in NaN. Unscaled inputs or targets (a regression on
raw values in the hundreds), deep stacks without normalisation and learning rates that are too
large are the usual causes.

## Evidence
The probe computes, on one fixed batch of up to 256 training samples, each layer's gradient
norm and weight norm before the first step and at a few epochs. The rule fires when some
layer's relative gradient `||gradient|| / ||weights||` reaches 10 (`MAX_RELATIVE_GRADIENT`) at
some record, or when a gradient norm becomes NaN/inf after a finite start. Healthy runs of the
corpus stay below 1. Gradients that are not finite before the first step come from the data
(the missing-values rule) and are not judged here. Runs without a probe (`advisor check`) are
not judged.

## Fix
`clip-gradients` bounds each step directly (`clipnorm` on the optimizer); with it,
`standardize` when the inputs are not scaled, and `lower-lr`. Scaling a large regression
target helps too (the `target-scale` rule names it). Dead units and vanishing gradients that an
explosion caused are superseded by this finding.

**Fix safety:** all are safe to try on a run whose gradients explode; the advisor retrains
and keeps the change only when the validation loss improves.
"""

from __future__ import annotations

from advisor.findings import Finding, Severity
from advisor.history import TrainingHistory
from advisor.rule import Rule, RuleContext
from rules._probe import first_explosion


def measure(context: RuleContext) -> dict[str, object] | None:
    """The first record at which some layer's gradient explodes, and which layer."""
    return first_explosion(context.probe)


def check(history: TrainingHistory, context: RuleContext) -> list[Finding]:
    evidence = measure(context)
    if evidence is None:
        return []
    when = "before the first step" if evidence["epoch"] == 0 else f"at epoch {evidence['epoch']}"
    what = (
        "overflowed to NaN/inf"
        if evidence["overflowed"]
        else f"is {evidence['relative_gradient']:.3g}x the norm of its weights"
    )
    return [
        RULE.finding(
            f"the gradient of layer '{evidence['layer']}' {what} {when}: each step replaces "
            "the weights instead of adjusting them",
            evidence=evidence,
            fixes=("clip-gradients", "standardize", "lower-lr"),
            directions={"lower-lr": "down"},  # steps too large: a smaller rate
        )
    ]


RULE = Rule(
    id="exploding-gradients",
    code="ADV402",
    severity=Severity.WARNING,
    summary="Gradients far larger than the weights, or overflowing to NaN/inf.",
    doc=__doc__ or "",
    check=check,
    needs_probe=True,
    supersedes=("vanishing-gradients",),
)
