"""Statistics of the training inputs, the evidence of the data rules.

Measured once on the arrays the script trained on. Statistics ignore non-finite entries, which
are counted instead: Keras can train on NaN inputs without the loss turning NaN, so the data
itself must be looked at. Only NumPy is needed here.

A *feature* is what a ``Normalization(axis=-1)`` layer would scale: a column of a table, a
channel of an image (pooled over its pixels), a feature of a sequence (pooled over its steps).
Token ids and strings are not measured: their values are indices, not magnitudes. The data is
read in chunks, so no float64 copy of a large image dataset is ever made.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from advisor.rule import DataProfile, InputKind

# Float64 values converted at a time (32 MB): bounds memory whatever the dataset's size.
_CHUNK_VALUES = 1 << 22


def input_kind(x: np.ndarray, *, feeds_tokens: bool) -> InputKind:
    """How the inputs are laid out, which decides what a feature is."""
    if feeds_tokens:
        return "tokens"
    if x.ndim <= 2:
        return "features"
    return "sequence" if x.ndim == 3 else "image"


def profile(
    x: np.ndarray, y: np.ndarray, *, model_normalizes_inputs: bool, feeds_tokens: bool = False
) -> DataProfile:
    kind = input_kind(x, feeds_tokens=feeds_tokens)
    targets = np.asarray(y)
    numeric_targets = targets.dtype.kind in "biuf"
    moments = None if kind == "tokens" else _moments(x)
    names = () if moments is None else _feature_names(x, kind)
    # Values per feature: one per sample in a table, one per pixel or step otherwise.
    per_sample = int(np.prod(x.shape[1:-1])) if x.ndim > 2 else 1

    def values(index: int) -> tuple[float, ...]:
        return () if moments is None else tuple(float(v) for v in moments[index])

    return DataProfile(
        n_samples=len(x),
        feature_names=names,
        means=values(1),
        stds=values(2),
        abs_max=values(3),
        nonfinite_per_feature=tuple(len(x) * per_sample - int(c) for c in values(0)),
        nonfinite_targets=int((~np.isfinite(targets)).sum()) if numeric_targets else 0,
        n_targets=int(targets.size),
        model_normalizes_inputs=model_normalizes_inputs,
        input_kind=kind,
        value_min=min(values(4), default=0.0),
    )


def _feature_names(x: np.ndarray, kind: InputKind) -> tuple[str, ...]:
    n = x.shape[-1] if x.ndim > 1 else 1
    prefix = {"image": "channel[{}]", "sequence": "x[..., {}]"}.get(kind, "x[{}]")
    return tuple(prefix.format(i) for i in range(n))


def _chunks(x: np.ndarray) -> Iterator[np.ndarray]:
    """``x`` as float64 blocks of shape ``(values, features)``, a bounded number at a time."""
    n_features = x.shape[-1] if x.ndim > 1 else 1
    rows = max(1, _CHUNK_VALUES // max(1, x[:1].size))
    for start in range(0, len(x), rows):
        yield np.asarray(x[start : start + rows], dtype=np.float64).reshape(-1, n_features)


def _moments(x: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per feature: finite counts, means, standard deviations, largest magnitudes and smallest
    values. Two passes over the chunks: the means first, then squared deviations from them."""
    counts = sums = abs_max = lowest = np.zeros(0)
    for index, block in enumerate(_chunks(x)):
        finite = np.isfinite(block)
        safe = np.where(finite, block, 0.0)
        found = (
            finite.sum(axis=0),
            safe.sum(axis=0),
            np.abs(safe).max(axis=0),
            np.where(finite, block, np.inf).min(axis=0),
        )
        if index == 0:
            counts, sums, abs_max, lowest = found
            continue
        counts, sums = counts + found[0], sums + found[1]
        abs_max, lowest = np.maximum(abs_max, found[2]), np.minimum(lowest, found[3])
    means = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
    squares = np.zeros_like(means)
    for block in _chunks(x):
        squares += (np.where(np.isfinite(block), block - means, 0.0) ** 2).sum(axis=0)
    stds = np.sqrt(squares / np.maximum(counts, 1))
    return counts, means, stds, abs_max, np.where(np.isfinite(lowest), lowest, 0.0)
