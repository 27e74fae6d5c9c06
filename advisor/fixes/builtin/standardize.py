"""## What it does
Puts a `Normalization` layer in front of the model, adapted on the training inputs: per column
of a table, per channel of an image, per feature of a sequence, per input of a multi-input
model. Token ids and strings are never scaled, and inputs you standardised already (every
feature with mean 0 and standard deviation 1, within `MEAN_TOLERANCE` and
`STD_TOLERANCE`) are left alone.

## Why it helps
Features on very different scales make the loss surface a narrow valley: one learning rate is
too large for some weights and too small for others. Inputs with mean 0 and variance 1 give
every weight a similar scale of gradient.

## Fix safety
Unsafe: the model handed out computes on standardised inputs. The layer is inside it, so it
still takes your raw inputs, and saves and loads with plain Keras.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import numpy as np

from advisor.arrays import is_several
from advisor.fix import Fix, FixKind, Param, Skipped
from advisor.plan import TrainingPlan
from advisor.plan_edits import PrependInputStep

ID: Final = "standardize"
# A StandardScaler fitted on all the rows leaves the training slice (validation split off)
# with means within 0.04 of 0 and deviations of 0.91..1.12 (digits): a feature further than
# this from mean 0 / deviation 1 counts as not scaled.
MEAN_TOLERANCE = 0.1
STD_TOLERANCE = 0.25


def apply(plan: TrainingPlan, params: Mapping[str, Param]) -> TrainingPlan | Skipped:
    if plan.model.normalizes_inputs:
        return Skipped(ID, "the model already normalises its inputs")
    if plan.model.feeds_tokens:
        return Skipped(ID, "the inputs are token ids or strings, which are not scaled")
    if _standardised(plan.data.x_train):
        return Skipped(ID, "the inputs are standardised already (mean 0, standard deviation 1)")
    return plan.with_edits(PrependInputStep(ID, ID))


def _standardised(x: Any) -> bool:
    """Every non-constant feature (last axis) of one float array has mean 0 and deviation 1
    within the tolerances (constant features, which a scaler maps to 0, are ignored)."""
    if is_several(x) or np.ndim(x) < 2 or np.asarray(x).dtype.kind != "f":
        return False
    features = np.asarray(x, dtype=np.float64).reshape(-1, np.shape(x)[-1])
    mean, std = features.mean(axis=0), features.std(axis=0)
    varying = std > STD_TOLERANCE
    return bool(
        varying.any()
        and np.isfinite(features).all()
        and (np.abs(mean[varying]) <= MEAN_TOLERANCE).all()
        and (np.abs(std[varying] - 1.0) <= STD_TOLERANCE).all()
    )


FIX = Fix(
    id=ID,
    kind=FixKind.DATA,
    summary=(
        "`Normalization` layer in front, adapted on the training inputs: per column of a table, "
        "per channel of an image, per feature of a sequence, per input of a multi-input model; "
        "token ids and strings are never scaled"
    ),
    doc=__doc__ or "",
    apply=apply,
    safety="unsafe",
)
