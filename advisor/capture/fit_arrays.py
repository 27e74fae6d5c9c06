"""What ``fit`` was given, read as NumPy arrays and checked the way Keras checks it.

A ``tf.data.Dataset`` or ``keras.utils.PyDataset`` is read batch by batch up to a budget of
samples (:func:`read_source`): one that ends within it is read whole, one that does not is left
to be streamed (see :mod:`advisor.streams`) and only its first batches are kept, as the bounded
sample data profiles and rules read. A Python generator, or a dataset that repeats forever,
is read for the batches the script's fit would draw, each sample kept once (see
:mod:`advisor.capture.repeats`).
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from advisor.arrays import Structure, concat_batches, map_parts, parts, rows, take
from advisor.capture.repeats import DistinctSamples, repeat_note
from advisor.errors import AdvisorError
from advisor.streams import StreamSlice, bucket


@dataclass(frozen=True)
class SourceRead:
    """A dataset's batches as arrays: all of it, or (``stream`` set) its first batches only."""

    x: Structure
    y: Structure
    # What the source batches by; None for arrays (fit's batch_size decides).
    batch_size: int | None
    stream: StreamSlice | None
    notes: tuple[str, ...] = ()
    # The sample weights the batches carried as a third element; None when none did.
    w: np.ndarray | None = None


def is_dataset(x: Any) -> bool:
    return type(x).__module__.startswith("tensorflow") and hasattr(x, "element_spec")


def is_py_dataset(x: Any) -> bool:
    return hasattr(x, "__getitem__") and hasattr(x, "__len__") and hasattr(x, "on_epoch_end")


def is_generator(x: Any) -> bool:
    """A Python generator or another one-pass iterator (it cannot be read twice)."""
    return inspect.isgenerator(x) or (hasattr(x, "__next__") and not hasattr(x, "__len__"))


def read_source(
    source: Any,
    steps: int | None,
    budget: int | None,
    *,
    role: str,
    sampled: frozenset[int] | None = None,
    epochs: int = 1,
) -> SourceRead:
    """The batches of ``source``: all of them, or (``budget`` samples reached with more to
    come) only the first ``budget`` samples of the batches whose bucket is in ``sampled``.

    A source with more is streamed: reading stops there, so a dataset larger than memory is
    never read whole, and the sample keeps to the slice that is trained on. Only sampled
    batches are kept while reading; a source that ends within the budget is read again whole
    (it is small). A dataset that repeats forever is read for ``steps`` x ``epochs`` batches,
    each sample kept once."""
    batches = iter(
        _dataset_batches(source, steps, epochs) if is_dataset(source) else _py_batches(source)
    )
    read = _Batches(role, DistinctSamples() if repeats_forever(source) else None)
    for number, batch in enumerate(batches):
        if budget is not None and read.n_rows >= budget:
            return read.joined(StreamSlice(source, steps=steps))
        if read.seen is not None and read.seen.done(steps, None):
            break
        read.add(batch, keep=sampled is None or bucket(number) in sampled)
    if sampled is not None:
        return read_source(source, steps, None, role=role, epochs=epochs)
    if read.seen is None:
        return read.joined(None)
    note = repeat_note(role, "a tf.data.Dataset that repeats forever", steps, epochs, read.seen)
    return replace(read.joined(None), notes=(note,))


def read_generator(
    generator: Any, steps: int | None, budget: int, *, role: str, epochs: int = 1
) -> SourceRead:
    """The batches a ``fit`` would draw from a Python generator, each sample kept once, until
    :meth:`DistinctSamples.done`; one without ``steps`` is read until it ends, and refused
    once it has yielded ``budget`` samples (Keras' epoch would not end if it never does)."""
    count = None if steps is None else steps * epochs
    seen = DistinctSamples()
    read = _Batches(role, seen)
    for batch in itertools.islice(generator, count):
        if steps is None and seen.read >= budget:
            raise AdvisorError(
                f"the {role} is a Python generator that yields more than {budget} samples "
                "and fit() was given no steps_per_epoch (validation_steps for validation "
                "data): pass it, so that an epoch ends"
            )
        if seen.done(steps, budget):
            break
        read.add(batch)
    note = repeat_note(role, "a Python generator", steps, epochs, seen)
    return replace(read.joined(None), notes=(note,))


class _Batches:
    """The ``(x, y)`` or ``(x, y, sample_weight)`` batches read so far, as arrays; without
    the samples ``seen`` before when ``seen`` is given."""

    def __init__(self, role: str, seen: DistinctSamples | None) -> None:
        self.role = role
        self.seen = seen
        self.batch_size: int | None = None
        self._xs: list[Structure] = []
        self._ys: list[Structure] = []
        self._ws: list[np.ndarray | None] = []

    @property
    def n_rows(self) -> int:
        return sum(rows(y) for y in self._ys)

    def add(self, batch: Any, *, keep: bool = True) -> None:
        """Read one batch; ``keep`` False: only its size counts (a batch of another slice)."""
        if not isinstance(batch, tuple | list) or len(batch) < 2:
            raise AdvisorError(f"the {self.role} yields no targets; expected (x, y) batches")
        x, y = _arrays(batch[0], self.role, "inputs"), _arrays(batch[1], self.role, "targets")
        self.batch_size = self.batch_size or rows(y)
        if not keep:
            return
        w = None if len(batch) < 3 or batch[2] is None else np.asarray(batch[2], "float64")
        check_cardinality(x, y, w, role=self.role)
        if self.seen is not None:
            index = self.seen.new_rows(x, y)
            x, y, w = take(x, index), take(y, index), None if w is None else w[index]
        if rows(y):
            self._xs.append(x)
            self._ys.append(y)
            self._ws.append(None if w is None else w.reshape(rows(y)))

    def joined(self, stream: StreamSlice | None) -> SourceRead:
        if not self._xs or self.batch_size is None:
            raise AdvisorError(f"the {self.role} is empty")
        x, y = concat_batches(self._xs), concat_batches(self._ys)
        check_cardinality(x, y, None, role=self.role)
        return SourceRead(x, y, self.batch_size, stream, w=self._weights())

    def _weights(self) -> np.ndarray | None:
        """The batches' sample weights; a batch without any counts each sample once."""
        if all(w is None for w in self._ws):
            return None
        return np.concatenate(
            [np.ones(rows(y)) if w is None else w for w, y in zip(self._ws, self._ys, strict=True)]
        )


def repeats_forever(source: Any) -> bool:
    if not is_dataset(source):
        return False
    import tensorflow as tf

    return int(source.cardinality()) == int(tf.data.INFINITE_CARDINALITY)


def _dataset_batches(dataset: Any, steps: int | None, epochs: int) -> Iterator[Any]:
    if repeats_forever(dataset):
        if not steps:
            raise AdvisorError(
                "the tf.data.Dataset repeats forever and no steps_per_epoch was given; "
                "the advisor cannot tell how much data one epoch holds"
            )
        dataset = dataset.take(steps * epochs)
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
    x: Any, y: Any, steps: int | None, *, role: str, epochs: int = 1, budget: int
) -> SourceRead:
    """Inputs and targets (and any weights a dataset or generator carries) as arrays."""
    if is_generator(x):
        return read_generator(x, steps, budget, role=role, epochs=epochs)
    if is_dataset(x) or is_py_dataset(x):
        return read_source(x, steps, None, role=role, epochs=epochs)
    if y is None:
        raise AdvisorError(f"the {role} has no targets (y); the advisor needs labelled data")
    return SourceRead(_arrays(x, role, "inputs"), _arrays(y, role, "targets"), None, None)


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
