"""Training data that repeats within one fit: a Python generator, or a ``tf.data`` pipeline
that ends in ``.repeat()``, fitted for ``steps_per_epoch`` batches.

The advisor reads what the script's fit would draw, keeps each sample once (no sample is both
trained on and held out), and every fit draws the script's passes per epoch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import tensorflow as tf

from advisor.arrays import rows
from advisor.capture.data_split import split
from advisor.capture.fit_data import fit_data
from advisor.errors import AdvisorError
from advisor.training.epoch_passes import epochs_of_passes
from tests.test_diagnose_edge_cases import COMPILE, MODEL, run

ROWS = 40
X = np.arange(ROWS * 3, dtype="float32").reshape(ROWS, 3)
Y = (np.arange(ROWS) % 2).astype("float32")


def looping_batches(batch_size: int = 8) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """What users write: the same rows over and over, one batch at a time."""
    while True:
        for start in range(0, ROWS, batch_size):
            yield X[start : start + batch_size], Y[start : start + batch_size]


def distinct_rows(x: np.ndarray) -> set[bytes]:
    return {row.tobytes() for row in x}


def test_a_generator_is_read_for_its_steps_each_sample_once() -> None:
    data = fit_data((looping_batches(),), {"steps_per_epoch": 10, "epochs": 3})
    assert rows(data.y) == ROWS and len(distinct_rows(data.x)) == ROWS
    assert data.batch_size == 8
    # 10 batches of 8 are 80 samples: two passes over the 40 rows per epoch.
    assert data.passes_per_epoch == pytest.approx(2.0)
    notes = " ".join(data.notes)
    assert "Python generator" in notes and "40 of them distinct" in notes


def test_sample_weights_a_dataset_yields_weigh_the_samples_they_came_with() -> None:
    weights = np.where(Y == 1, 3.0, 1.0)
    dataset = tf.data.Dataset.from_tensor_slices((X, Y, weights)).batch(8)
    data = fit_data((dataset,), {"epochs": 2})
    assert data.w is not None
    np.testing.assert_array_equal(data.w, weights)
    validation = fit_data((X, Y), {"validation_data": dataset})
    assert validation.w_val is not None
    np.testing.assert_array_equal(validation.w_val, weights)


def test_a_repeating_dataset_shares_no_sample_between_training_and_holdout() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(20).repeat()
    data = fit_data((dataset,), {"steps_per_epoch": 20, "epochs": 3})
    assert rows(data.y) == 100
    assert data.passes_per_epoch == pytest.approx(4.0)
    parts = split(data)
    assert rows(parts.y_holdout) > 0
    assert not distinct_rows(parts.x_train) & distinct_rows(parts.x_holdout)
    assert not distinct_rows(parts.x_train) & distinct_rows(parts.x_val)


def test_fewer_steps_than_one_pass_of_arrays_are_kept_as_a_fraction_of_a_pass() -> None:
    data = fit_data((X, Y), {"steps_per_epoch": 2, "batch_size": 8, "epochs": 3})
    assert rows(data.y) == ROWS
    assert data.passes_per_epoch == pytest.approx(0.4)
    assert fit_data((X, Y), {"batch_size": 8}).passes_per_epoch is None


def test_a_generator_that_never_ends_without_steps_is_refused() -> None:
    with pytest.raises(AdvisorError, match="no steps_per_epoch"):
        fit_data((looping_batches(),), {"epochs": 2}, max_samples=100)


def test_validation_split_of_a_generator_is_refused_as_keras_refuses_it() -> None:
    with pytest.raises(AdvisorError, match="validation_split is only supported"):
        fit_data((looping_batches(),), {"steps_per_epoch": 5, "validation_split": 0.2})


def test_an_epoch_draws_the_scripts_passes_over_the_training_slice() -> None:
    given: dict[str, Any] = epochs_of_passes(X, Y, None, batch_size=8, passes=2.0)
    assert given["steps_per_epoch"] == 10
    epoch = list(given["x"].take(given["steps_per_epoch"]).as_numpy_iterator())
    seen = np.concatenate([x for x, _ in epoch])
    assert len(seen) == 80 and len(distinct_rows(seen)) == ROWS


def test_a_generator_script_is_diagnosed(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    body = (
        MODEL
        + COMPILE
        + (
            "def batches():\n    while True:\n        for i in range(0, 80, 16):\n"
            "            yield x[i:i + 16], y[i:i + 16]\n"
            "model.fit(batches(), steps_per_epoch=10, epochs=2)\n"
        )
    )
    code, err, out = run(tmp_path, body, capsys)
    assert code in (0, 1), err
    assert "Traceback" not in err
    assert "Python generator" in " ".join(out.split())
