"""Datasets larger than the advisor's sample budget are streamed, never read into memory whole.

Capture reads only the first batches (the bounded sample that profiles and rules see); every
fit then runs the user's pipeline again each epoch, so augmentation inside it is drawn anew;
the train, validation, selection and holdout slices are disjoint sets of batches.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from advisor.capture.data_split import split
from advisor.capture.fit_data import fit_data
from advisor.python_api import advise
from advisor.training.streams import batches

BATCH = 8
N_BATCHES = 40


def counting_dataset(pulled: list[int], *, features: int = 4) -> tf.data.Dataset:
    """Batches of a generator that records each sample it hands out; ``x[:, 0]`` is the
    sample's index, so slices can be told apart."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCH * N_BATCHES, features)).astype("float32")
    x[:, 0] = np.arange(len(x))
    y = (x[:, 1] > 0).astype("int32")

    def samples() -> Any:
        for index in range(len(x)):
            pulled.append(index)
            yield x[index], y[index]

    spec = (tf.TensorSpec((features,), tf.float32), tf.TensorSpec((), tf.int32))
    return tf.data.Dataset.from_generator(samples, output_signature=spec).batch(BATCH)


class CountingBatches(keras.utils.PyDataset):  # type: ignore[misc]
    """A PyDataset that records which batches were asked for."""

    def __init__(self, asked: list[int]) -> None:
        super().__init__()
        self.asked = asked
        rng = np.random.default_rng(1)
        self.x = rng.normal(size=(BATCH * N_BATCHES, 4)).astype("float32")
        self.y = (self.x[:, 1] > 0).astype("int32")

    def __len__(self) -> int:
        return N_BATCHES

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        self.asked.append(index)
        rows = slice(index * BATCH, (index + 1) * BATCH)
        return self.x[rows], self.y[rows]


def tiny_classifier() -> keras.Model:
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)]
    )
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def test_capture_reads_only_the_budget_of_a_larger_dataset() -> None:
    pulled: list[int] = []
    data = fit_data((counting_dataset(pulled),), {"epochs": 2}, max_samples=3 * BATCH)
    # The budget's training batches (the batches between them go to the other slices), the
    # one that shows there is more, and tf.data's read-ahead, which grows with the machine's
    # load (73 of 320 elements on a loaded 2-core CI run): at most a quarter of the dataset.
    assert len(pulled) <= BATCH * N_BATCHES // 4
    assert len(data.y) == 3 * BATCH
    assert any("is streamed to every fit" in note for note in data.notes)


def test_a_dataset_within_the_budget_is_read_whole_as_before() -> None:
    pulled: list[int] = []
    data = fit_data((counting_dataset(pulled),), {"epochs": 2}, max_samples=10_000)
    assert len(data.y) == BATCH * N_BATCHES
    assert not any("is streamed" in note for note in data.notes)


def test_the_streamed_slices_are_disjoint_and_cover_every_batch() -> None:
    data = split(fit_data((counting_dataset([]),), {"epochs": 2}, max_samples=2 * BATCH))
    assert data.streams is not None
    slices = (data.streams.train, data.streams.val, data.streams.select, data.streams.holdout)
    seen = [{int(i) for batch in batches(s) for i in batch[0][:, 0]} for s in slices]
    assert all(seen)
    assert sum(len(s) for s in seen) == len(set().union(*seen)) == BATCH * N_BATCHES
    # The same batches every time the slice is read (every epoch, every fit).
    assert {int(i) for batch in batches(data.streams.holdout) for i in batch[0][:, 0]} == seen[3]


def test_every_epoch_of_the_probe_runs_the_pipeline_again() -> None:
    pulled: list[int] = []
    report = advise(
        tiny_classifier(),
        counting_dataset(pulled),
        epochs=2,
        fix=False,
        progress=False,
        max_samples=2 * BATCH,
    )
    assert report.probe.history.n_epochs == 2
    # Read once into memory, it would have been pulled once; streamed, each epoch's training
    # and validation passes read the pipeline again.
    assert len(pulled) >= 2 * 2 * BATCH * N_BATCHES
    assert any("is streamed to every fit" in note for note in report.notes)


def test_a_py_dataset_is_streamed_and_the_probe_never_reads_selection_or_holdout() -> None:
    asked: list[int] = []
    source = CountingBatches(asked)
    data = split(fit_data((source,), {"epochs": 2}, max_samples=2 * BATCH))
    # The first batches up to the budget's two training batches, and one that shows more.
    assert len(asked) <= 6
    assert data.streams is not None
    kept_out = _kept(data.streams.select) | _kept(data.streams.holdout)
    fitted = _kept(data.streams.train) | _kept(data.streams.val)
    asked.clear()
    report = advise(
        tiny_classifier(), source, epochs=2, fix=False, progress=False, max_samples=2 * BATCH
    )
    assert report.probe.history.n_epochs == 2
    # Each epoch asks for every training and validation batch again; a selection or holdout
    # batch is asked for at most once, by the capture's read of the first batches.
    assert all(asked.count(index) >= 2 for index in fitted)
    assert all(asked.count(index) <= 1 for index in kept_out)


def test_a_fix_on_a_streamed_dataset_is_judged_on_the_streamed_holdout() -> None:
    asked: list[int] = []
    source = CountingBatches(asked)
    model = tiny_classifier()
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=30.0), loss=model.loss)
    report = advise(model, source, epochs=3, progress=False, max_samples=2 * BATCH, budget=1.0)
    assert report.improvement is not None
    holdout = split(fit_data((source,), {}, max_samples=2 * BATCH)).streams
    assert holdout is not None and _kept(holdout.holdout) <= set(asked)


def _kept(stream: Any) -> set[int]:
    from advisor.streams import bucket

    assert stream.buckets is not None
    return {index for index in range(N_BATCHES) if bucket(index) in stream.buckets}
