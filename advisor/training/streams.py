"""A :class:`~advisor.streams.StreamSlice` as Keras takes it, read lazily batch by batch.

A ``tf.data.Dataset`` slice is the user's pipeline with ``enumerate().filter(...)`` on the
batch index: nothing is read until Keras iterates it, and each iteration runs the pipeline (and
its random augmentation) again. A ``PyDataset`` slice is a ``PyDataset`` over the kept batch
indices, whose ``on_epoch_end`` is the user's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from advisor.arrays import concat_batches
from advisor.streams import BUCKETS, StreamSlice, bucket


def keras_data(stream: StreamSlice) -> Any:
    """What ``fit``, ``evaluate`` and ``predict`` take for ``stream``."""
    if isinstance(stream.source, tf.data.Dataset):
        return _dataset(stream)
    return _KeptBatches(stream)


def batches(stream: StreamSlice) -> Iterator[tuple[Any, ...]]:
    """``(x, y)`` or ``(x, y, sample_weight)`` of each batch of ``stream``, as NumPy."""
    data = keras_data(stream)
    if isinstance(data, tf.data.Dataset):
        yield from data.as_numpy_iterator()
        return
    for index in range(len(data)):
        yield tuple(data[index])


def targets_and_predictions(model: Any, stream: StreamSlice) -> tuple[Any, Any, Any]:
    """Targets, predictions and sample weights (None when the batches carry none) of every
    sample of ``stream``, one batch in memory at a time (only targets and predictions are kept)."""
    ys: list[Any] = []
    predictions: list[Any] = []
    weights: list[Any] = []
    for batch in batches(stream):
        ys.append(batch[1])
        predictions.append(model.predict_on_batch(batch[0]))
        if len(batch) > 2:
            weights.append(np.asarray(batch[2]))
    y = concat_batches([_numpy(part) for part in ys])
    predicted = concat_batches([_numpy(part) for part in predictions])
    return y, predicted, np.concatenate(weights) if weights else None


def _numpy(values: Any) -> Any:
    return keras.tree.map_structure(np.asarray, values)


def _dataset(stream: StreamSlice) -> Any:
    dataset = stream.source
    if stream.steps is not None and int(dataset.cardinality()) == int(tf.data.INFINITE_CARDINALITY):
        dataset = dataset.take(stream.steps)
    if stream.buckets is not None and len(stream.buckets) < BUCKETS:
        kept = tf.constant(sorted(stream.buckets), dtype=tf.int64)
        size = int(dataset.cardinality())
        dataset = (
            dataset.enumerate()
            .filter(lambda index, _: tf.reduce_any(tf.equal(bucket(index), kept)))
            .map(lambda _, element: element)
        )
        if size >= 0:  # a known length stays known: Keras then counts steps, not errors
            batches_kept = sum(bucket(index) in stream.buckets for index in range(size))
            dataset = dataset.apply(tf.data.experimental.assert_cardinality(batches_kept))
    if stream.target_scale is not None:
        mean, std = stream.target_scale
        dataset = dataset.map(lambda x, y, *w: (x, (tf.cast(y, tf.float32) - mean) / std, *w))
    return dataset


class _KeptBatches(keras.utils.PyDataset):  # type: ignore[misc]
    """The user's ``PyDataset`` restricted to the batches of a slice, read with the user's
    workers and queue."""

    def __init__(self, stream: StreamSlice) -> None:
        source = stream.source
        super().__init__(
            workers=getattr(source, "workers", 1),
            use_multiprocessing=getattr(source, "use_multiprocessing", False),
            max_queue_size=getattr(source, "max_queue_size", 10),
        )
        self.stream = stream
        self.kept = [
            index
            for index in range(len(stream.source))
            if stream.buckets is None or bucket(index) in stream.buckets
        ]

    def __len__(self) -> int:
        return len(self.kept)

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        batch = tuple(self.stream.source[self.kept[index]])
        if self.stream.target_scale is None:
            return batch
        mean, std = self.stream.target_scale
        return (batch[0], (np.asarray(batch[1], dtype="float32") - mean) / std, *batch[2:])

    def on_epoch_end(self) -> None:
        self.stream.source.on_epoch_end()


def approximate_samples(stream: StreamSlice, batch_size: int) -> int | None:
    """Samples in ``stream`` counted as full batches (a last, smaller batch counts whole),
    without reading it; None when the pipeline's length is unknown."""
    data = keras_data(stream)
    batches = int(data.cardinality()) if isinstance(data, tf.data.Dataset) else len(data)
    return batches * batch_size if batches >= 0 else None
