"""What ``fit`` was given, read as NumPy arrays and checked the way Keras checks it.

A ``tf.data.Dataset`` or ``keras.utils.PyDataset`` is read batch by batch up to a budget of
samples (:func:`read_source`): one that ends within it is read whole, one that does not is left
to be streamed (see :mod:`advisor.streams`) and only its first batches are kept, as the bounded
sample data profiles and rules read.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from advisor.arrays import Structure, concat_batches, map_parts, parts, rows
from advisor.errors import AdvisorError
from advisor.streams import StreamSlice, bucket


@dataclass(frozen=True)
class SourceRead:
    """A dataset's batches as arrays: all of it, or (``stream`` set) its first batches only."""

    x: Structure
    y: Structure
    batch_size: int
    stream: StreamSlice | None


def is_dataset(x: Any) -> bool:
    return type(x).__module__.startswith("tensorflow") and hasattr(x, "element_spec")


def is_py_dataset(x: Any) -> bool:
    return hasattr(x, "__getitem__") and hasattr(x, "__len__") and hasattr(x, "on_epoch_end")


def read_source(
    source: Any,
    steps: int | None,
    budget: int | None,
    *,
    role: str,
    sampled: frozenset[int] | None = None,
) -> SourceRead:
    """The batches of ``source``: all of them, or (``budget`` samples reached with more to
    come) only the first ``budget`` samples of the batches whose bucket is in ``sampled``.

    A source with more is streamed: reading stops there, so a dataset larger than memory is
    never read whole, and the sample keeps to the slice that is trained on. Only sampled
    batches are kept while reading; a source that ends within the budget is read again whole
    (it is small)."""
    batches = iter(_dataset_batches(source, steps) if is_dataset(source) else _py_batches(source))
    xs: list[Structure] = []
    ys: list[Structure] = []
    batch_size = None
    for number, batch in enumerate(batches):
        if budget is not None and sum(rows(y) for y in ys) >= budget:
            return _joined(xs, ys, batch_size, StreamSlice(source, steps=steps), role)
        if not isinstance(batch, tuple | list) or len(batch) < 2:
            raise AdvisorError(f"the {role} yields no targets; expected (x, y) batches")
        if sampled is None or bucket(number) in sampled:
            xs.append(_arrays(batch[0], role, "inputs"))
            ys.append(_arrays(batch[1], role, "targets"))
        batch_size = batch_size or rows(_arrays(batch[1], role, "targets"))
    if sampled is not None:
        return read_source(source, steps, None, role=role)
    return _joined(xs, ys, batch_size, None, role)


def _joined(
    xs: list[Structure],
    ys: list[Structure],
    batch_size: int | None,
    stream: StreamSlice | None,
    role: str,
) -> SourceRead:
    if not xs or batch_size is None:
        raise AdvisorError(f"the {role} is empty")
    x, y = concat_batches(xs), concat_batches(ys)
    check_cardinality(x, y, None, role=role)
    return SourceRead(x, y, batch_size, stream)


def _dataset_batches(dataset: Any, steps: int | None) -> Iterator[Any]:
    import tensorflow as tf

    if int(dataset.cardinality()) == int(tf.data.INFINITE_CARDINALITY):
        if not steps:
            raise AdvisorError(
                "the tf.data.Dataset repeats forever and no steps_per_epoch was given; "
                "the advisor cannot tell how much data one epoch holds"
            )
        dataset = dataset.take(steps)
    batches: Iterable[Any] = dataset.as_numpy_iterator()
    return iter(batches)


def _py_batches(dataset: Any) -> Iterator[Any]:
    return (dataset[index] for index in range(len(dataset)))


def check_cardinality(x: Structure, y: Structure, sample_weight: Any, *, role: str) -> None:
    """Keras' own refusal when inputs, targets and weights hold different numbers of samples."""
    sizes = {"x": [len(a) for _, a in parts(x)], "y": [len(a) for _, a in parts(y)]}
    weights = None if sample_weight is None else np.asarray(sample_weight)
    if weights is not None and weights.ndim > 0:
        sizes["sample_weight"] = [len(weights)]
    if len({n for counts in sizes.values() for n in counts}) > 1:
        shown = ", ".join(
            f"'{name}' sizes: {', '.join(map(str, counts))}" for name, counts in sizes.items()
        )
        raise AdvisorError(
            f"the {role}: Data cardinality is ambiguous ({shown}); Keras refuses to train on "
            "it: make sure all arrays contain the same number of samples"
        )


def inputs_and_targets(
    x: Any, y: Any, steps: int | None, *, role: str
) -> tuple[Structure, Structure, int | None]:
    if inspect.isgenerator(x) or (hasattr(x, "__next__") and not hasattr(x, "__len__")):
        raise AdvisorError(
            f"the {role} is a Python generator, which cannot be replayed for the probe and the "
            "retraining; pass NumPy arrays, tensors or a tf.data.Dataset instead"
        )
    if is_dataset(x) or is_py_dataset(x):
        read = read_source(x, steps, None, role=role)
        return read.x, read.y, read.batch_size
    if y is None:
        raise AdvisorError(f"the {role} has no targets (y); the advisor needs labelled data")
    return _arrays(x, role, "inputs"), _arrays(y, role, "targets"), None


def _arrays(values: Any, role: str, part: str) -> Structure:
    """Every part as a NumPy array, all with the same number of samples."""
    arrays = map_parts(values, lambda value: _array(value, role, part))
    counts = {len(array) for _, array in parts(arrays)}
    if len(counts) > 1:
        raise AdvisorError(
            f"the {role} {part} have different numbers of samples ({sorted(counts)}); "
            "every input and target needs one row per sample"
        )
    return arrays


def _is_text(array: np.ndarray) -> bool:
    """Strings, for a StringLookup or TextVectorization layer at the model's input."""
    if array.dtype.kind in "US":
        return True
    return array.dtype.kind == "O" and array.size > 0 and isinstance(array.flat[0], str | bytes)


def _array(value: Any, role: str, part: str) -> np.ndarray:
    try:
        array = np.asarray(value)
    except Exception as error:
        raise AdvisorError(f"the {role} {part} cannot be read as an array: {error}") from None
    if array.dtype.kind not in "biuf" and not (part == "inputs" and _is_text(array)):
        raise AdvisorError(
            f"the {role} {part} are not numeric (dtype {array.dtype}); "
            "only numeric arrays (and strings as inputs) are supported"
        )
    if array.ndim == 0 or len(array) == 0:
        raise AdvisorError(f"the {role} {part} are empty")
    return array
