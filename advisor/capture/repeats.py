"""Training data that repeats within one fit, read once with each sample kept once.

A Python generator, or a ``tf.data.Dataset`` that repeats forever, gives ``fit`` as many
batches as it asks for: ``steps_per_epoch`` per epoch. The advisor reads the batches the
script's whole fit would draw (``steps_per_epoch`` times its epochs, within the sample budget)
and keeps each distinct sample once: read twice, one sample could sit in both the training
and the holdout slice, and the holdout would measure memory instead of generalisation. The
advisor's fits then draw as many passes over their training slice per epoch as the script's
epoch of ``steps_per_epoch`` batches is over those samples (``FitData.passes_per_epoch``).
"""

from __future__ import annotations

import numpy as np

from advisor.arrays import Structure, parts, rows


class DistinctSamples:
    """Remembers the samples seen so far, batch after batch, and keeps the new ones."""

    def __init__(self) -> None:
        self._seen: set[bytes] = set()
        self.read = 0
        self.batches = 0
        # Batches read in a row that brought no new sample.
        self.stale_batches = 0
        self.stopped_by = ""

    def new_rows(self, x: Structure, y: Structure) -> np.ndarray:
        """The rows of a batch not seen before (inputs and targets alike decide)."""
        keep = []
        for row, key in enumerate(_row_keys([*parts(x), *parts(y)], rows(y))):
            if key not in self._seen:
                self._seen.add(key)
                keep.append(row)
        self.read += rows(y)
        self.batches += 1
        self.stale_batches = 0 if keep else self.stale_batches + 1
        return np.asarray(keep, dtype=np.int64)

    def done(self, steps: int | None, budget: int | None) -> bool:
        """Nothing more worth reading: ``budget`` distinct samples kept, or a whole epoch of
        ``steps`` batches brought none (the source cycles over what was read)."""
        if budget is not None and self.kept >= budget:
            self.stopped_by = f"the budget of {budget} samples (--max-samples)"
        elif steps and self.stale_batches >= steps:
            self.stopped_by = f"an epoch's worth ({steps} batches) with no new sample"
        return bool(self.stopped_by)

    @property
    def kept(self) -> int:
        return len(self._seen)


def _row_keys(named_parts: list[tuple[str | None, np.ndarray]], n_rows: int) -> list[bytes]:
    """One key per row, from every part's bytes (strings by their text)."""
    keys = [b""] * n_rows
    for _, part in named_parts:
        for row in range(n_rows):
            value = part[row]
            keys[row] += (
                repr(value.tolist()).encode() if part.dtype.kind == "O" else value.tobytes()
            ) + b"|"
    return keys


def repeat_note(
    role: str, source: str, steps: int | None, epochs: int, seen: DistinctSamples
) -> str:
    """What the advisor read from a repeating ``source``, said once in the report."""
    if not steps:
        drawn = f"its {seen.batches} batches once, until it ended"
    elif role == "validation data":
        drawn = f"the {steps} batches each validation draws from it (validation_steps={steps})"
    else:
        drawn = (
            f"{seen.batches} of the {steps * epochs} batches the script's fit draws from it "
            f"(steps_per_epoch={steps} x epochs={epochs}) once"
        )
        if seen.stopped_by:
            drawn += f", stopping at {seen.stopped_by}"
    clauses = [f"the {role} is {source}: the advisor read {drawn}"]
    if seen.read > seen.kept:
        clauses.append(
            f"they hold {seen.read} samples, {seen.kept} of them distinct, and the advisor keeps "
            "each once (a sample both trained on and held out would make the holdout measure "
            "memory)"
        )
    return "; ".join(clauses)
