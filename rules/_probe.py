"""Reading :class:`~advisor.probe_stats.ProbeStats` the same way in every probe rule.

The probe rules judge what the instrumented probing fit measured inside the model (gradient
norms, update ratios, dead and saturated units on one fixed batch); they stay silent when no
probe ran (``advisor check`` on a saved history), like the data rules without data.

The measurements several probe rules read (a rule defers to the one naming the cause) live
here with their thresholds, so that no rule module imports another; each rule re-exports its
own threshold, which its doc names.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from advisor.probe_stats import LayerStats, ProbeStats
from advisor.rule import RuleContext

MAX_RELATIVE_GRADIENT = 10.0
MIN_DEAD_FRACTION = 0.5
MIN_SATURATED_FRACTION = 0.5


@dataclass(frozen=True)
class Worst:
    """The layer with the highest value of a per-layer series at the last record."""

    layer: LayerStats
    value: float
    first: float
    epoch: int


def worst_at_end(
    probe: ProbeStats | None, series: Callable[[LayerStats], tuple[float, ...]], minimum: float
) -> Worst | None:
    """The layer whose ``series`` ends highest (ties: nearest the input), when that last value
    reaches ``minimum``; None without a probe or a layer with that series."""
    if probe is None:
        return None
    candidates = [
        Worst(layer, values[-1], values[0], probe.epochs[len(values) - 1])
        for layer in probe.layers
        if (values := series(layer)) and math.isfinite(values[-1])
    ]
    worst = max(candidates, key=lambda w: w.value, default=None)
    return worst if worst is not None and worst.value >= minimum else None


def percent(value: float) -> str:
    return f"{value:.0%}"


def exploding(context: RuleContext) -> dict[str, object] | None:
    """The first record at which some layer's gradient explodes, and which layer."""
    probe = context.probe
    if probe is None or not probe.weighted_layers:
        return None
    layers = probe.weighted_layers
    if not all(math.isfinite(layer.gradient_norms[0]) for layer in layers):
        return None
    for record, epoch in enumerate(probe.epochs):
        for layer in layers:
            gradient, weight = layer.gradient_norms[record], layer.weight_norms[record]
            relative = gradient / weight if weight > 0 else math.inf
            if not math.isfinite(gradient) or relative >= MAX_RELATIVE_GRADIENT:
                return {
                    "layer": layer.name,
                    "epoch": epoch,
                    "gradient_norm": gradient,
                    "weight_norm": weight,
                    "relative_gradient": relative,
                    "overflowed": not math.isfinite(gradient),
                }
    return None


def dead(context: RuleContext) -> Worst | None:
    """The layer with the most dead units, when that share reaches the threshold (not when the
    gradients exploded before the first step: the units then died of the explosion)."""
    explosion = exploding(context)
    if explosion is not None and explosion["epoch"] == 0:
        return None
    return worst_at_end(context.probe, lambda layer: layer.dead_fractions, MIN_DEAD_FRACTION)


def saturated(context: RuleContext) -> Worst | None:
    """The most saturated hidden sigmoid/tanh layer, when its share reaches the threshold."""
    return worst_at_end(
        context.probe, lambda layer: layer.saturated_fractions, MIN_SATURATED_FRACTION
    )
