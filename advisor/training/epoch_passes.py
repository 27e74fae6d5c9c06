"""Training arrays as an endless shuffled dataset, cut into epochs of the script's size.

A script that fits a generator or a repeating dataset for ``steps_per_epoch`` batches draws a
set number of passes over its samples each epoch, more or less than one. The advisor replays
the samples it read as arrays (see :mod:`advisor.capture.repeats`); fitted as plain arrays,
each epoch would be one pass, and a rule judging the curve epoch by epoch would see a run
trained several times less (or more) than the script's. Here every fit, baseline and fixes
alike, draws the script's passes per epoch over its own training slice.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from advisor.arrays import is_several, rows


def epochs_of_passes(
    x: Any, y: Any, sample_weight: Any, *, batch_size: int, passes: float
) -> dict[str, Any]:
    """The ``fit`` arguments (``x`` and ``steps_per_epoch``) that train ``passes`` passes over
    ``(x, y)`` per epoch, reshuffled on each pass as Keras shuffles arrays."""
    given = (_nested(x), _nested(y)) + (() if sample_weight is None else (sample_weight,))
    dataset = (
        tf.data.Dataset.from_tensor_slices(given)
        .shuffle(rows(y), reshuffle_each_iteration=True)
        .repeat()
        .batch(batch_size)
    )
    return {"x": dataset, "steps_per_epoch": max(round(passes * rows(y) / batch_size), 1)}


def _nested(values: Any) -> Any:
    """Several inputs or outputs as a tuple (tf.data would stack a list into one tensor)."""
    return tuple(values) if is_several(values) and isinstance(values, list) else values
