"""## What it does
Passes `class_weight` to `fit`: each class weighted by `n_samples / (n_classes * its count)`
(scikit-learn's "balanced" weights), so every class counts as much as the majority class.

## Why it helps
A classifier that predicts only the majority class is already at a low loss on imbalanced
labels; balanced weights make the minority classes' errors cost as much, so it has to learn them.

## Fix safety
Safe: the architecture is yours; only how much each training sample counts changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np

from advisor.arrays import is_several
from advisor.fix import Fix, FixKind, Param, Skipped
from advisor.plan import TrainingPlan
from advisor.plan_edits import SetClassWeight

ID: Final = "class-weight"


def apply(plan: TrainingPlan, params: Mapping[str, Param]) -> TrainingPlan | Skipped:
    if is_several(plan.data.y_train):
        return Skipped(ID, "the model has several outputs; weight each head's classes yourself")
    if plan.data.w_train is not None or plan.edits_of(SetClassWeight):
        return Skipped(ID, "the fit already weights its samples")
    labels = _class_indices(np.asarray(plan.data.y_train))
    if labels is None:
        return Skipped(ID, "the targets are not class indices or one-hot rows", quiet=True)
    classes, counts = np.unique(labels, return_counts=True)
    if len(classes) < 2:
        return Skipped(ID, "the training labels hold a single class")
    share = len(labels) / len(classes)
    weights = {int(c): float(share / n) for c, n in zip(classes, counts, strict=True)}
    return plan.with_edits(SetClassWeight(ID, weights))


def _class_indices(y: np.ndarray) -> np.ndarray | None:
    """Class index per sample from indices (n,) / (n, 1) or one-hot rows; None for anything
    else (a regression target)."""
    if y.ndim == 2 and y.shape[1] > 1:
        return np.argmax(y, axis=1) if np.all((y == 0) | (y == 1)) else None
    flat = y.reshape(-1)
    if flat.size == 0 or not np.all(np.isfinite(flat)) or not np.all(flat == np.round(flat)):
        return None
    return flat.astype(np.int64) if flat.min() >= 0 else None


FIX = Fix(
    id=ID,
    kind=FixKind.DATA,
    summary='`class_weight` in `fit`: scikit-learn\'s "balanced" weight per class',
    doc=__doc__ or "",
    apply=apply,
)
