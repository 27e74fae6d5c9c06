"""The targets of each output head, in the training and the validation slice, in a few numbers.

The data rules compare the two slices (is validation drawn like training?), read each head's
class shares (does the model predict only the majority class?) and each regression head's scale.
Labels are integer class ids, one-hot rows, or floats that are all 0 or 1 (binary labels kept as
floats); anything else is a regression target. Only NumPy is needed here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from advisor.arrays import Structure, parts
from advisor.head_targets import HeadTargets

# Regression values kept per slice: more are summarised by this many evenly spaced quantiles.
MAX_VALUES = 1_000
# More classes than this are not labels whose shares mean anything.
MAX_CLASSES = 1_000


def head_targets(
    y: Structure, y_val: Structure | None, output_names: Sequence[str] = ()
) -> tuple[HeadTargets, ...]:
    """One :class:`HeadTargets` per output; heads given as a list are named by
    ``output_names`` (the model's), as Keras names their logged losses."""
    train_parts = parts(y)
    val_parts = parts(y_val) if y_val is not None else [(None, None)] * len(train_parts)
    single = len(train_parts) == 1
    heads = []
    for index, ((name, train), (_, val)) in enumerate(zip(train_parts, val_parts, strict=True)):
        if single:
            head_name = None
        elif name is not None:
            head_name = name
        else:
            head_name = output_names[index] if index < len(output_names) else str(index)
        heads.append(_head(head_name, np.asarray(train), None if val is None else np.asarray(val)))
    return tuple(heads)


def _head(name: str | None, train: np.ndarray, val: np.ndarray | None) -> HeadTargets:
    n_val = 0 if val is None else len(val)
    mean, std = _moments(train)
    train_labels = _labels(train)
    val_labels = None if val is None else _labels(val)
    if train_labels is not None and (val is None or val_labels is not None):
        n_classes = max(int(train_labels.max(initial=0)), int(_max(val_labels))) + 1
        return HeadTargets(
            name=name,
            is_labels=True,
            n_train=len(train),
            n_val=n_val,
            train_counts=_counts(train_labels, n_classes),
            val_counts=() if val_labels is None else _counts(val_labels, n_classes),
            mean=mean,
            std=std,
        )
    return HeadTargets(
        name=name,
        is_labels=False,
        n_train=len(train),
        n_val=n_val,
        train_values=_sample(train),
        val_values=() if val is None else _sample(val),
        mean=mean,
        std=std,
    )


def _labels(y: np.ndarray) -> np.ndarray | None:
    """Class ids of ``y`` (one per sample), or None when ``y`` is not class labels."""
    if y.dtype.kind not in "biuf" or len(y) == 0:
        return None
    rows = y.reshape(len(y), -1)
    if rows.shape[1] > 1:
        one_hot = np.isin(rows, (0, 1)).all() and (rows.sum(axis=1) == 1).all()
        return rows.argmax(axis=1) if one_hot else None
    column = rows[:, 0]
    if y.dtype.kind == "f":
        return column.astype(np.int64) if np.isin(column, (0.0, 1.0)).all() else None
    if y.dtype.kind == "b":
        return column.astype(np.int64)
    if column.min() < 0 or column.max() >= MAX_CLASSES:
        return None
    return column.astype(np.int64)


def _max(labels: np.ndarray | None) -> int:
    return 0 if labels is None else int(labels.max(initial=0))


def _counts(labels: np.ndarray, n_classes: int) -> tuple[int, ...]:
    return tuple(int(c) for c in np.bincount(labels, minlength=n_classes))


def _finite(y: np.ndarray) -> np.ndarray:
    values = np.asarray(y, dtype=np.float64).ravel()
    return values[np.isfinite(values)]


def _sample(y: np.ndarray) -> tuple[float, ...]:
    """The sorted finite values, or :data:`MAX_VALUES` evenly spaced quantiles of them."""
    if y.dtype.kind not in "biuf":
        return ()
    values = np.sort(_finite(y))
    if len(values) > MAX_VALUES:
        values = np.quantile(values, np.linspace(0.0, 1.0, MAX_VALUES))
    return tuple(float(v) for v in values)


def _moments(y: np.ndarray) -> tuple[float | None, float | None]:
    """Mean and spread of float targets (regression values, not integer labels)."""
    finite = _finite(y) if y.dtype.kind == "f" else np.zeros(0)
    if finite.size == 0:
        return None, None
    return float(finite.mean()), float(finite.std())
