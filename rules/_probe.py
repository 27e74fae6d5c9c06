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


# Calibrated on fixtures/histories/corpus (and its unseen re-recording): runs whose learning
# rate was too small to move (stalled tiny-LR SGD, underfitting at 1e-4..5e-3) change no layer's
# weights by more than 1.9 % per epoch, while every healthy run moves some layer by at least
# 11 %. Their gradients are alive (some layer's gradient norm at least 8 % of its weight norm);
# dead or vanishing units also move little, but their gradients stay below 4 %.
MAX_TINY_UPDATE = 0.02
MIN_ALIVE_GRADIENT = 0.05


def tiny_updates(probe: ProbeStats | None) -> dict[str, float] | None:
    """The evidence that the optimizer's steps are too small for gradients that are there: no
    layer's weights moved by ``MAX_TINY_UPDATE`` of their norm in any recorded epoch, yet some
    layer's last gradient norm is at least ``MIN_ALIVE_GRADIENT`` of its weight norm. None
    without a probe, when the updates are not tiny, when the gradient itself is gone (a
    larger step would not wake dead or saturated units) or explodes (:func:`first_explosion`:
    an adaptive optimizer bounds the step of a gradient far larger than its weights)."""
    if probe is None or not probe.weighted_layers or first_explosion(probe) is not None:
        return None  # exploding gradients: Adam's steps are bounded, not too small
    per_epoch = [
        ratio / (probe.epochs[i + 1] - probe.epochs[i])
        for layer in probe.weighted_layers
        for i, ratio in enumerate(layer.update_ratios)
    ]
    relative = [
        layer.gradient_norms[-1] / layer.weight_norms[-1]
        for layer in probe.weighted_layers
        if layer.weight_norms and layer.weight_norms[-1] > 0
    ]
    if not per_epoch or not relative or not all(map(math.isfinite, [*per_epoch, *relative])):
        return None
    largest_update, largest_gradient = max(per_epoch), max(relative)
    if largest_update >= MAX_TINY_UPDATE or largest_gradient < MIN_ALIVE_GRADIENT:
        return None
    return {"update_ratio_per_epoch": largest_update, "relative_gradient": largest_gradient}


def too_small_steps(tiny: dict[str, float] | None) -> str:
    """What a finding's message adds for :func:`tiny_updates`' evidence ("" without it)."""
    if tiny is None:
        return ""
    return (
        f"; no layer's weights moved more than {tiny['update_ratio_per_epoch']:.2%} per epoch "
        "while the gradients are alive: the steps are too small"
    )
