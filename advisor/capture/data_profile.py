"""Per-feature statistics of the training data, the evidence of the data rules.

Measured once on the arrays the script trained on. Statistics ignore non-finite entries, which
are counted instead: Keras can train on NaN inputs without the loss turning NaN, so the data
itself must be looked at. Only NumPy is needed here.
"""

from __future__ import annotations

import numpy as np

from advisor.rule import DataProfile

_NAME_PREFIX = "x"


def profile(x: np.ndarray, y: np.ndarray, *, model_normalizes_inputs: bool) -> DataProfile:
    flat = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    finite = np.isfinite(flat)
    counts = finite.sum(axis=0)
    safe = np.where(finite, flat, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, safe.sum(axis=0) / np.maximum(counts, 1), 0.0)
        centred = np.where(finite, flat - means, 0.0)
        stds = np.sqrt((centred**2).sum(axis=0) / np.maximum(counts, 1))
    abs_max = np.where(finite, np.abs(flat), 0.0).max(axis=0)
    targets = np.asarray(y, dtype=np.float64)
    return DataProfile(
        n_samples=len(flat),
        feature_names=tuple(f"{_NAME_PREFIX}[{i}]" for i in range(flat.shape[1])),
        means=tuple(float(v) for v in means),
        stds=tuple(float(v) for v in stds),
        abs_max=tuple(float(v) for v in abs_max),
        nonfinite_per_feature=tuple(int(v) for v in (~finite).sum(axis=0)),
        nonfinite_targets=int((~np.isfinite(targets)).sum()),
        n_targets=int(targets.size),
        model_normalizes_inputs=model_normalizes_inputs,
    )
