"""Data of one input or output, or of several: an array, a list of arrays, or a dict by name.

Keras takes ``fit([a, b], [y1, y2])`` and ``fit({"a": a}, {"head": y})`` as readily as single
arrays; the advisor keeps whichever structure the user gave and applies row operations (split,
concatenate, sample) to every part alike. Only NumPy is needed here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

# An array, a list/tuple of arrays, or a mapping of names to arrays.
Structure = Any
# Float64 values converted at a time when statistics are computed (32 MB): memory stays
# bounded whatever the dataset's size.
CHUNK_VALUES = 1 << 22


def is_several(values: Structure) -> bool:
    """A list or dict of arrays (several inputs or outputs), not one array or nested numbers."""
    if isinstance(values, Mapping):
        return True
    return isinstance(values, list | tuple) and bool(values) and hasattr(values[0], "shape")


def parts(values: Structure) -> list[tuple[str | None, Any]]:
    """``(name, array)`` for each part: dict keys as names, None for list positions."""
    if isinstance(values, Mapping):
        return [(str(name), part) for name, part in values.items()]
    if is_several(values):
        return [(None, part) for part in values]
    return [(None, values)]


def map_parts(values: Structure, function: Callable[[Any], Any]) -> Structure:
    """The same structure with ``function`` applied to every part."""
    if isinstance(values, Mapping):
        return {name: function(part) for name, part in values.items()}
    if is_several(values):
        return [function(part) for part in values]
    return function(values)


def floats_as(values: Structure, dtype: str) -> Structure:
    """Every floating-point part in ``dtype``, as Keras' array adapters give ``fit`` its
    batches (float64 NumPy becomes floatx); ``train_on_batch`` does not, and a user's loss
    that mixes the two dtypes fails there."""
    return map_parts(
        values,
        lambda part: part.astype(dtype) if np.asarray(part).dtype.kind == "f" else part,
    )


def for_head(values: Any, name: str, index: int) -> Any:
    """One output's entry of a per-output setting given as Keras takes it: a dict by output
    name, a list in output order, or one value for every output."""
    if isinstance(values, Mapping):
        return values[name]
    return values[index] if isinstance(values, list | tuple) else values


def rows(values: Structure) -> int:
    return len(parts(values)[0][1])


def take(values: Structure, index: np.ndarray) -> Structure:
    """Rows ``index`` of every part."""
    return map_parts(values, lambda part: part[index])


def take_slice(
    x: Structure, y: Structure, w: np.ndarray | None, index: np.ndarray
) -> tuple[Structure, Structure, np.ndarray | None]:
    """The same rows ``index`` of inputs, targets and per-sample weights (None stays None)."""
    return take(x, index), take(y, index), None if w is None else np.asarray(w)[index]


def concat_batches(batches: Sequence[Structure]) -> Structure:
    """One structure from a list of batches that share it (a dataset read to the end)."""
    first = batches[0]
    if isinstance(first, Mapping):
        return {name: np.concatenate([b[name] for b in batches]) for name in first}
    if is_several(first):
        return [np.concatenate([b[i] for b in batches]) for i in range(len(first))]
    return np.concatenate(batches)


def concat_slices(
    slices: Sequence[tuple[Structure, Structure, np.ndarray | None]],
) -> tuple[Structure, Structure, np.ndarray | None]:
    """Inputs, targets and per-sample weights of several slices as one: weights stay None when
    no slice has any, and a slice without weights counts each of its samples once."""
    x = concat_batches([s[0] for s in slices])
    y = concat_batches([s[1] for s in slices])
    if all(s[2] is None for s in slices):
        return x, y, None
    weights = [np.ones(rows(s[1])) if s[2] is None else np.asarray(s[2]) for s in slices]
    return x, y, np.concatenate(weights)
