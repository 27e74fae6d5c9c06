"""## What it detects
Input features on very different scales (the widest-spread feature varies at least 1000x more
than the narrowest), on very large scales (some feature's typical magnitude is 100 or more), or
far from zero relative to their spread (some feature's `|mean| / std` is 10 or more), when the
model does not rescale its inputs itself (no `Normalization` or `Rescaling` layer in front).
And inputs scaled twice: the model's own `Rescaling` layers (before any learned layer, no
`Normalization` among them) multiply inputs that were already small down to values no larger
than 0.05 (`MIN_RESCALED_MAGNITUDE`): `x / 255` in the script and a `Rescaling(1/255)` layer
leave the first layer pixels of at most 0.0039.
A feature is what `Normalization(axis=-1)` scales: a table's column, an image's channel
(pooled over its pixels; raw 0..255 pixels are named as such), a sequence's feature (pooled
over its steps). Token ids and strings fed to an `Embedding` or a lookup/text layer are indices,
not magnitudes, and are never reported.

## Why it matters
A dense layer's first step is a weighted sum of the raw features. With one feature in the
thousands and another below one, the large feature dominates the sum and its gradients, the
loss surface is stretched along it, and one learning rate cannot suit every weight: training is
slow, unstable, or stuck at a poor solution. Large raw values also saturate activations.
Features that all lie in 65..70 have no scale problem by either measure, yet every sample
looks almost the same to the first layer: the information is in a small wobble on top of a
large common offset, which the biases must cancel before anything is learnt.

## Evidence
Per-feature statistics of the training inputs (non-finite entries ignored): the standard
deviation of each feature, and each feature's root-mean-square magnitude
`sqrt(mean^2 + std^2)`, and each feature's offset `|mean| / std`. Constant features are left
out of the ratios. The offset bar (10, `MAX_OFFSET_RATIO`) comes from a real buggy program
whose three features lie in 65..70 (offset about 50): standardising them takes its accuracy
from 0.62 to 1.0; `load_iris` (offset at most 7) stays below it. Calibrated on the
scikit-learn datasets: `load_wine` (ratio 2.5e3, magnitude up to 1.1e3) and
`load_breast_cancer` (ratio 2.2e5) fire and train markedly worse unscaled; `load_iris`
(ratio 4) and `load_diabetes` (already scaled) do not; `load_digits` raw pixels (0..16,
ratio 277, driven by near-empty edge pixels) stay below both thresholds.

## Fix
`standardize`: put a `keras.layers.Normalization` layer in front of the model and `adapt()`
it on the training inputs, so the model takes the same raw inputs and scales them itself
(scikit-learn's `StandardScaler` computes the same statistics). For images the statistics
are per channel, so raw pixels get one mean and variance per channel inside the model.

Inputs scaled twice get no fix: which of the two scalings the script meant cannot be known
(drop `x / 255` or the layer); the finding says where they are.

**Fix safety:** standardising changes nothing the model could not learn, but the learning rate
that suited raw inputs may now be too small or large; the advisor retrains and compares.
"""

from __future__ import annotations

import math

from advisor.findings import Finding, Severity
from advisor.history import TrainingHistory
from advisor.rule import DataProfile, Rule, RuleContext

MAX_SPREAD_RATIO = 1000.0
MAX_MAGNITUDE = 100.0
MAX_OFFSET_RATIO = 10.0
RAW_PIXEL_RANGE = (0.0, 255.0)
# Inputs the model's own Rescaling leaves no larger than this were scaled twice.
MIN_RESCALED_MAGNITUDE = 0.05


def _raw_pixels(data: DataProfile) -> bool:
    """Image values within 0..255 that exceed 1: 8-bit pixels no one rescaled."""
    low, high = RAW_PIXEL_RANGE
    largest = max(data.abs_max, default=0.0)
    return data.input_kind == "image" and data.value_min >= low and 1.0 < largest <= high


def _magnitudes(data: DataProfile) -> list[float]:
    return [math.hypot(mean, std) for mean, std in zip(data.means, data.stds, strict=True)]


def _scaled_twice(data: DataProfile) -> list[Finding]:
    """The model's own Rescaling shrinks inputs that were already small: the first learned
    layer sees values no larger than :data:`MIN_RESCALED_MAGNITUDE`."""
    factor = data.model_input_rescaling
    largest = max((v for v in data.abs_max if math.isfinite(v)), default=0.0)
    if factor is None or largest <= 0 or largest * abs(factor) >= MIN_RESCALED_MAGNITUDE:
        return []
    return [
        RULE.finding(
            f"the model's own Rescaling(scale={factor:.3g}) shrinks inputs that are already at "
            f"most {largest:.3g}: its first learned layer sees values no larger than "
            f"{largest * abs(factor):.2g}; are the inputs scaled twice (x / 255 in the script and "
            "a Rescaling(1/255) layer)?",
            evidence={"rescaling": factor, "largest_input": largest,
                      "largest_rescaled": largest * abs(factor)},
        )
    ]  # fmt: skip


def check(history: TrainingHistory, context: RuleContext) -> list[Finding]:
    data = context.data
    if data is None or not data.stds:
        return []
    if data.model_normalizes_inputs:
        return _scaled_twice(data)
    varying = [
        (std, name)
        for std, name in zip(data.stds, data.feature_names, strict=True)
        if std > 0 and math.isfinite(std)
    ]
    magnitudes = _magnitudes(data)
    largest_magnitude, largest_name = max(zip(magnitudes, data.feature_names, strict=True))
    reasons: list[str] = []
    evidence: dict[str, object] = {
        "largest_magnitude": largest_magnitude,
        "largest_feature": largest_name,
    }
    if len(varying) >= 2:
        (low, low_name), (high, high_name) = min(varying), max(varying)
        ratio = high / low
        evidence.update(spread_ratio=ratio, widest_feature=high_name, narrowest_feature=low_name)
        if ratio >= MAX_SPREAD_RATIO:
            reasons.append(
                f"feature {high_name} varies {ratio:.3g}x more than feature {low_name} "
                f"(std {high:.3g} vs {low:.3g})"
            )
    if largest_magnitude >= MAX_MAGNITUDE:
        raw = " (raw 0..255 pixel values)" if _raw_pixels(data) else ""
        reasons.append(f"feature {largest_name} has magnitude {largest_magnitude:.3g}{raw}")
        evidence["raw_pixels"] = bool(raw)
    offsets = [
        (abs(mean) / std, name)
        for mean, std, name in zip(data.means, data.stds, data.feature_names, strict=True)
        if std > 0 and math.isfinite(std) and math.isfinite(mean)
    ]
    if offsets:
        offset, offset_name = max(offsets)
        evidence.update(offset_ratio=offset, offset_feature=offset_name)
        if offset >= MAX_OFFSET_RATIO:
            reasons.append(
                f"feature {offset_name} sits {offset:.3g} standard deviations away from zero"
            )
    if not reasons:
        return []
    return [
        RULE.finding(
            "; ".join(reasons) + ": inputs are not scaled and the model does not normalise them",
            evidence=evidence,
            fixes=("standardize",),
        )
    ]


RULE = Rule(
    id="scale-imbalance",
    code="ADV201",
    severity=Severity.WARNING,
    summary="Input features on very different or large scales, or far from zero, not normalised.",
    doc=__doc__ or "",
    check=check,
    needs_data=True,
)
