"""Reading :class:`~advisor.probe_stats.ProbeStats` the same way in every probe rule.

The probe rules judge what the instrumented probing fit measured inside the model (gradient
norms, update ratios, dead and saturated units on one fixed batch); they stay silent when no
probe ran (``advisor check`` on a saved history), like the data rules without data.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # names only: without a probe (`advisor check`) its types are never loaded
    from advisor.probe_stats import LayerStats, ProbeStats


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


MAX_RELATIVE_GRADIENT = 10.0


def first_explosion(probe: ProbeStats | None) -> dict[str, object] | None:
    """The first record at which some layer's gradient explodes (gradient norm at least
    ``MAX_RELATIVE_GRADIENT`` times the weight norm, or not finite after a finite start), and
    which layer. Shared by exploding-gradients and by dead-units, whose units an explosion
    before the first step killed."""
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
