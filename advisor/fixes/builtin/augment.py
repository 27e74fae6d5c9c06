"""## What it does
For image inputs only: `RandomTranslation`, `RandomRotation` and `RandomZoom` layers in front
of the model, which Keras runs in training only.

## Why it helps
Small, label-preserving changes to each training image, drawn anew every epoch, make the
training set look larger: the model cannot memorise exact pixels. Measured on
fixtures/scripts/overfit_digits_cnn.py (150 digit images, two seeds, test loss 0.34-0.45
without augmentation): no flip, since a mirrored digit or letter is another symbol (0.63-1.13
with flips); nearest-pixel interpolation, since bilinear resampling blurs small images in
training only, which the model never sees at test time (0.36-0.42 bilinear, 0.19-0.23
nearest). Uncovered borders are filled with 0: the background of scaled images, the mean of
standardised ones.

## Fix safety
Safe at inference: the layers pass images through unchanged in `predict` and `evaluate`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np

from advisor.arrays import is_several
from advisor.fix import Fix, FixKind, Knob, Param, Skipped
from advisor.fixes.builtin._shared import number
from advisor.plan import TrainingPlan
from advisor.plan_edits import Augment, LayerSpec

ID: Final = "augment"
_FILL = {"fill_mode": "constant", "fill_value": 0.0, "interpolation": "nearest"}
_IMAGE_RANK = 4  # (samples, height, width, channels)
_AUGMENTATION_LAYERS = frozenset(
    ("RandomFlip", "RandomTranslation", "RandomRotation", "RandomZoom", "RandomCrop")
)


def apply(plan: TrainingPlan, params: Mapping[str, Param]) -> TrainingPlan | Skipped:
    if is_several(plan.data.x_train) or np.ndim(plan.data.x_train) != _IMAGE_RANK:
        return Skipped(
            ID, "the inputs are not images (samples, height, width, channels)", quiet=True
        )
    if _AUGMENTATION_LAYERS & set(plan.model.layer_types):
        return Skipped(ID, "the model already augments its inputs")
    shift = number(params, "translation_factor")
    layers = (
        LayerSpec("RandomTranslation", {"height_factor": shift, "width_factor": shift, **_FILL}),
        LayerSpec("RandomRotation", {"factor": number(params, "rotation_factor"), **_FILL}),
        LayerSpec("RandomZoom", {"height_factor": number(params, "zoom_factor"), **_FILL}),
    )
    return plan.with_edits(Augment(ID, layers))


FIX = Fix(
    id=ID,
    # Regularises, as dropout does; a data fix would also be tried alone.
    kind=FixKind.REGULARISER,
    summary=(
        "image inputs only: `RandomTranslation`, `RandomRotation`, `RandomZoom` in front of the "
        "model (active in training only)"
    ),
    doc=__doc__ or "",
    apply=apply,
    knobs=(
        Knob("translation_factor", 0.1, low=0.0, high=0.3),
        Knob("rotation_factor", 0.05, low=0.0, high=0.2),
        Knob("zoom_factor", 0.1, low=0.0, high=0.3),
    ),
)
