"""## What it detects
Vanishing gradients: the gradient reaching the layer nearest the input is orders of magnitude
smaller than the largest layer gradient, throughout the probing fit, in a network at least
three weighted layers deep.

## Why it matters
Each layer multiplies the gradient passed backwards by its activation's derivative; a sigmoid's
is at most 0.25, so ten stacked sigmoid layers shrink it by about a million. The first layers
then barely move: the network trains like a shallow one on random features, and often stays at
chance level however long it runs.

## Evidence
The probe computes, on one fixed batch of up to 256 training samples, the L2 norm of the
compiled loss's gradient for each layer's weights, before the first step and at a few epochs.
The rule fires when the first weighted layer's gradient norm divided by the largest layer's
has a median over the records of at most 1e-3 (`MAX_GRADIENT_RATIO`), in a model with at least
3 weighted layers (`MIN_WEIGHTED_LAYERS`). Healthy runs of the corpus stay above 1e-2; deep
sigmoid stacks fall to about 1e-6. Dead ReLU layers and saturated units pass no gradient either,
nor do the layers an explosion wrecked: those runs are left to the dead-units, saturation and
exploding-gradients rules, which name the cause and its fix (each supersedes this rule).
Runs without a probe (`advisor check`) are not judged.

## Fix
Replace saturating hidden activations by ReLU with He initialisation (`relu-he`), add
`BatchNormalization` before each hidden activation (`batch-norm`), and replace plain SGD by an
adaptive optimizer (`adaptive-optimizer`: Adam, whose per-weight step does not shrink with the
gradient). The search tries each alone, then the best of them with the learning rate searched,
and keeps a result only when the selection data confirms it (Adam alone did not leave chance
level on the bundled ten-layer sigmoid stack). The stall and the underfitting such a network
shows are this finding's consequence: it `explains` them, so their fixes join only as extras.

**Fix safety:** each changes the architecture or the optimizer; retrain and compare.
"""

from __future__ import annotations

import math

from advisor.findings import Finding, Severity
from advisor.history import TrainingHistory
from advisor.rule import Rule, RuleContext

MAX_GRADIENT_RATIO = 1e-3
MIN_WEIGHTED_LAYERS = 3


def measure(context: RuleContext) -> dict[str, object] | None:
    """The first layer's share of the largest gradient, when it vanishes."""
    probe = context.probe
    if probe is None or len(probe.weighted_layers) < MIN_WEIGHTED_LAYERS:
        return None
    import statistics  # here, not at the top: `advisor check` (no probe) never pays for it

    layers = probe.weighted_layers
    ratios = []
    for record, _ in enumerate(probe.epochs):
        norms = [layer.gradient_norms[record] for layer in layers]
        largest = max(norms)
        if all(map(math.isfinite, norms)) and largest > 0:
            ratios.append(norms[0] / largest)
    if not ratios or statistics.median(ratios) > MAX_GRADIENT_RATIO:
        return None
    return {
        "layer": layers[0].name,
        "gradient_ratio": statistics.median(ratios),
        "gradient_norm_first_layer": layers[0].gradient_norms[-1],
        "weighted_layers": len(layers),
        "records": len(ratios),
    }


def check(history: TrainingHistory, context: RuleContext) -> list[Finding]:
    evidence = measure(context)
    if evidence is None:
        return []
    return [
        RULE.finding(
            f"the gradient reaching the first layer '{evidence['layer']}' is "
            f"{evidence['gradient_ratio']:.2g} of the largest layer's (median over "
            f"{evidence['records']} records) in a {evidence['weighted_layers']}-layer network: "
            "the layers nearest the input barely learn",
            evidence=evidence,
            fixes=("relu-he", "batch-norm", "adaptive-optimizer"),
        )
    ]


RULE = Rule(
    id="vanishing-gradients",
    code="ADV401",
    severity=Severity.WARNING,
    summary="Gradients shrink by orders of magnitude before reaching the first layers.",
    doc=__doc__ or "",
    check=check,
    needs_probe=True,
    # Gradients that never reach the first layers leave the loss flat and the model underfit:
    # the stall and the underfitting are its consequence, so ReLU+He is searched first and
    # their fixes (a learning rate, a bigger model) join only as extras.
    explains=("stalled", "underfitting"),
)
