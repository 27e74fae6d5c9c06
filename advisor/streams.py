"""Slices of a dataset too large to read into memory, described without reading it.

A ``tf.data.Dataset`` or ``keras.utils.PyDataset`` that holds more samples than the advisor
reads into memory is *streamed*: every fit iterates the user's own pipeline, so augmentation
inside it is drawn anew each epoch, as in the user's run. The train, validation, selection and
holdout slices are sets of *buckets* of the batch index: batch ``i`` belongs to the slice that
holds :func:`bucket` ``(i)``. The index, not the content, decides, so every epoch and every fit
puts the same batches in the same slice.

Only descriptions live here (no TensorFlow import); :mod:`advisor.training.streams` turns a
:class:`StreamSlice` into what Keras' ``fit`` takes.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Any

BUCKETS = 100
# A prime coprime to BUCKETS: each run of BUCKETS consecutive batches meets every bucket once,
# so each slice gets its share of every part of the dataset, not of its beginning alone.
_STRIDE = 7_919
_OFFSET = 13


def bucket(index: Any) -> Any:
    """The bucket of batch ``index``; the same arithmetic on Python, NumPy and TF integers."""
    return (index * _STRIDE + _OFFSET) % BUCKETS


@dataclass(frozen=True)
class StreamSlice:
    """The batches of ``source`` whose bucket is in ``buckets`` (every batch when None).

    ``steps`` cuts a dataset that repeats forever to the user's ``steps_per_epoch`` batches
    per pass; ``target_scale`` is ``(mean, std)`` when a fix trains on standardised targets."""

    source: Any
    buckets: frozenset[int] | None = None
    steps: int | None = None
    target_scale: tuple[Any, Any] | None = None

    def joined(self, other: StreamSlice) -> StreamSlice:
        """This slice and ``other`` (of the same source) as one."""
        if self.buckets is None or other.buckets is None:
            return replace(self, buckets=None)
        return replace(self, buckets=self.buckets | other.buckets)


@dataclass(frozen=True)
class DataStreams:
    """The four slices of a streamed dataset; ``val`` may come from another source (the
    user's validation data)."""

    train: StreamSlice
    val: StreamSlice
    select: StreamSlice
    holdout: StreamSlice
    # The user's class_weight: Keras applies it to the streamed training batches.
    class_weight: Any = None

    def for_final_fit(self, *, merge_validation: bool) -> DataStreams:
        """Streams for the export's fit: selection and holdout back into training, and the
        validation slice too when the advisor carved it (``merge_validation``)."""
        train = self.train.joined(self.select).joined(self.holdout)
        if merge_validation:
            train = train.joined(self.val)
        return replace(self, train=train)


@dataclass(frozen=True)
class BucketLayout:
    """Which buckets each slice of a streamed dataset holds."""

    train: frozenset[int]
    val: frozenset[int]
    select: frozenset[int]
    holdout: frozenset[int]


def bucket_layout(*, validation: float, holdout: float) -> BucketLayout:
    """``validation`` of the buckets (0: the user gave validation data), then ``holdout`` of
    the rest for the holdout and as many for the selection slice; training keeps the others."""
    n_val = round(BUCKETS * validation)
    n_holdout = round((BUCKETS - n_val) * holdout)
    edges = (0, n_val, n_val + n_holdout, n_val + 2 * n_holdout, BUCKETS)
    val, hold, select, train = (frozenset(range(a, b)) for a, b in itertools.pairwise(edges))
    return BucketLayout(train=train, val=val, select=select, holdout=hold)
