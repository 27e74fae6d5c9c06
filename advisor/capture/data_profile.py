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

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from advisor.arrays import CHUNK_VALUES, Structure, parts, rows
from advisor.capture.target_profile import head_targets
from advisor.rule import DataProfile, InputKind


def input_kind(x: np.ndarray, *, feeds_tokens: bool) -> InputKind:
    """How one input is laid out, which decides what a feature is."""
    if feeds_tokens:
        return "tokens"
    if x.ndim <= 2:
        return "features"
    return "sequence" if x.ndim == 3 else "image"


@dataclass(frozen=True)
class _Features:
    """The measured features of one input (none for token ids and strings)."""

    kind: InputKind
    names: tuple[str, ...] = ()
    means: tuple[float, ...] = ()
    stds: tuple[float, ...] = ()
    abs_max: tuple[float, ...] = ()
    nonfinite: tuple[int, ...] = ()
    value_min: float = 0.0


def profile(
    x: Structure,
    y: Structure,
    *,
    model_normalizes_inputs: bool,
    model_input_rescaling: float | None = None,
    token_inputs: tuple[bool, ...] = (),
    y_val: Structure | None = None,
    x_val: Structure | None = None,
    validation_source: str | None = None,
    output_names: Sequence[str] = (),
    columns: Sequence[str] = (),
) -> DataProfile:
    """Statistics of every input; with several inputs, feature names start with the input's
    name or position (``"age:x[0]"``, ``"1:channel[2]"``) so each finding says where, and a
    DataFrame's ``columns`` follow the index (``"x[12] (proline)"``). The targets are
    summarised per head, beside ``y_val``'s when the validation slice is known, and the
    inputs beside ``x_val``'s (preprocessed like training's or not)."""
    inputs = parts(x)
    tokens = token_inputs or (False,) * len(inputs)
    measured = _measured(inputs, tokens)
    validated = _validation_features(x_val, tokens, [name for name, _ in inputs], measured)
    if len(measured) == 1 and len(columns) == len(measured[0].names):
        named = tuple(f"{n} ({c})" for n, c in zip(measured[0].names, columns, strict=True))
        measured = [replace(measured[0], names=named)]
    kinds = {features.kind for features in measured}
    targets = [np.asarray(part) for _, part in parts(y)]
    heads = head_targets(y, y_val, output_names)
    single = heads[0] if len(heads) == 1 else None
    return DataProfile(
        n_samples=rows(x),
        feature_names=tuple(n for f in measured for n in f.names),
        means=tuple(v for f in measured for v in f.means),
        stds=tuple(v for f in measured for v in f.stds),
        abs_max=tuple(v for f in measured for v in f.abs_max),
        nonfinite_per_feature=tuple(v for f in measured for v in f.nonfinite),
        nonfinite_targets=sum(
            int((~np.isfinite(t)).sum()) for t in targets if t.dtype.kind in "biuf"
        ),
        n_targets=sum(int(t.size) for t in targets),
        model_normalizes_inputs=model_normalizes_inputs,
        model_input_rescaling=model_input_rescaling,
        input_kind=kinds.pop() if len(kinds) == 1 else "features",
        value_min=min((f.value_min for f in measured if f.names), default=0.0),
        target_mean=None if single is None else single.mean,
        target_std=None if single is None else single.std,
        heads=heads,
        validation_source=None if y_val is None else validation_source,
        val_means=tuple(v for f in validated for v in f.means),
        val_stds=tuple(v for f in validated for v in f.stds),
        val_samples=rows(x_val) if validated else 0,
    )


def _measured(inputs: list[tuple[str | None, object]], tokens: Sequence[bool]) -> list[_Features]:
    return [
        _features(np.asarray(data), label, is_token)
        for (_, data), is_token, label in zip(inputs, tokens, _labels(inputs), strict=True)
    ]


def _validation_features(
    x_val: Structure | None,
    tokens: Sequence[bool],
    names: Sequence[str | None],
    training: Sequence[_Features],
) -> list[_Features]:
    """The validation inputs measured like the ``training`` ones, feature by feature (named
    inputs matched by name); none when there are none, or when they are not laid out like
    training's (Keras would refuse them anyway)."""
    if x_val is None or not rows(x_val):
        return []
    inputs = parts(x_val)
    if len(inputs) != len(training):
        return []
    if isinstance(x_val, Mapping):  # Keras matches named inputs by name, not by position
        by_name = dict(inputs)
        if set(by_name) != set(names):
            return []
        inputs = [(name, by_name[name]) for name in names]
    measured = _measured(inputs, tokens)
    same_layout = [f.names for f in measured] == [f.names for f in training]
    return measured if same_layout else []


def _labels(inputs: list[tuple[str | None, object]]) -> list[str]:
    if len(inputs) == 1:
        return [""]
    return [f"{name if name is not None else index}:" for index, (name, _) in enumerate(inputs)]


def _features(x: np.ndarray, label: str, is_token: bool) -> _Features:
    kind = input_kind(x, feeds_tokens=is_token)
    if kind == "tokens":
        return _Features(kind)
    counts, means, stds, abs_max, lowest = _moments(x)
    # Values per feature: one per sample in a table, one per pixel or step otherwise.
    per_sample = int(np.prod(x.shape[1:-1])) if x.ndim > 2 else 1
    n = x.shape[-1] if x.ndim > 1 else 1
    prefix = {"image": "channel[{}]", "sequence": "x[..., {}]"}.get(kind, "x[{}]")
    return _Features(
        kind=kind,
        names=tuple(label + prefix.format(i) for i in range(n)),
        means=tuple(float(v) for v in means),
        stds=tuple(float(v) for v in stds),
        abs_max=tuple(float(v) for v in abs_max),
        nonfinite=tuple(len(x) * per_sample - int(c) for c in counts),
        value_min=float(lowest.min()),
    )


def _chunks(x: np.ndarray) -> Iterator[np.ndarray]:
    """``x`` as float64 blocks of shape ``(values, features)``, a bounded number at a time."""
    n_features = x.shape[-1] if x.ndim > 1 else 1
    per_chunk = max(1, CHUNK_VALUES // max(1, x[:1].size))
    for start in range(0, len(x), per_chunk):
        yield np.asarray(x[start : start + per_chunk], dtype=np.float64).reshape(-1, n_features)


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
