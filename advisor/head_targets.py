"""What the data rules may know about the targets of one output head, in training and validation.

Measured once by :mod:`advisor.capture.target_profile` and handed to the rules inside
``DataProfile.heads``. A multi-output model is judged head by head, so each head says its own
name (the name Keras logs its loss under, ``<name>_loss``). Plain numbers only: rules read this
without NumPy's arrays or TensorFlow, and ``advisor check`` never builds one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HeadTargets:
    """One head's targets: class counts when they are labels, a value sample when not.

    ``name`` is None for a single-output model. ``train_counts[c]`` / ``val_counts[c]`` count
    the samples of class ``c`` (labels only). ``train_values`` / ``val_values`` are the sorted
    finite targets of a regression head, or evenly spaced quantiles of them when there are more
    than the profile keeps (a two-sample test on them is then conservative, never optimistic).
    The ``val_*`` fields are empty when the advisor does not know the validation slice yet (it
    makes its own, at random, when the script has none).
    """

    name: str | None
    is_labels: bool
    n_train: int
    n_val: int = 0
    train_counts: tuple[int, ...] = ()
    val_counts: tuple[int, ...] = ()
    train_values: tuple[float, ...] = ()
    val_values: tuple[float, ...] = ()
    # Mean and standard deviation of float targets (regression values), None otherwise.
    mean: float | None = None
    std: float | None = None

    @property
    def majority_share(self) -> float | None:
        """The share of the most frequent training class (None for regression targets)."""
        total = sum(self.train_counts)
        return max(self.train_counts) / total if self.is_labels and total else None

    @property
    def label(self) -> str:
        """How a message names the head: ``head 'price'``, or nothing for a single output."""
        return "" if self.name is None else f"head '{self.name}': "
