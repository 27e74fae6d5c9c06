"""Edits in front of the model: input steps and augmentation as layers inside it.

The patched model still takes the user's raw inputs: missing values are filled, features
standardised (a ``Normalization`` adapted on the very data the script passes to ``fit``: its
values for a DataFrame, the features of each element for a tf.data pipeline) and images
augmented by layers placed after ``keras.Input``. Order as in the advisor's rebuild:
impute, standardize, augment.
"""

from __future__ import annotations

from typing import get_args

from advisor.patch.draft import Draft
from advisor.patch.model import ModelSite
from advisor.patch.source import INDENT, call, keywords, listing
from advisor.plan_edits import Augment, InputStepName, PrependInputStep

_IMPUTE, _STANDARDIZE = get_args(InputStepName)

# Where each kind of front layer goes: imputation first (the others cannot take NaN).
_RANK = {_IMPUTE: 0, _STANDARDIZE: 1, "augment": 2}


def prepend_input_step(edit: PrependInputStep, draft: Draft) -> None:
    site = _prefix_site(edit, draft)
    if site is None:
        return
    x = draft.training_input(edit, site)
    if x is None:
        return
    names = draft.script.names
    dataset = draft.facts.inputs == "dataset"
    if edit.step == _IMPUTE and dataset:
        draft.skip(edit, "a tf.data pipeline's missing values are filled in the pipeline itself")
        return
    if edit.step == _IMPUTE:
        np, ops = names.numpy_name(), names.module("ops")
        fill, layer = names.fresh("fill_values"), names.fresh(_IMPUTE)
        site.setup += [
            "# Missing inputs (NaN, inf) become the training mean of their column.\n"
            f"{fill} = {np}.nanmean({np}.where({np}.isfinite({x}), {x}, {np}.nan), axis=0)",
            f'{fill} = {np}.nan_to_num({fill}).astype("float32")',
            f"{layer} = {names.ref('layers', 'Lambda')}(lambda t: {ops}.where({ops}.isfinite(t), "
            f"t, {fill}))",
        ]
        site.imputer = layer
    else:
        layer = names.fresh("normalizer")
        if draft.facts.inputs == "frame":  # adapt iterates a DataFrame's column names
            x = f'{names.numpy_name()}.asarray({x}, dtype="float32")'
        adapted_on = f"{site.imputer}({x})" if site.imputer else x
        if dataset:  # adapt reads the features of the pipeline's (features, targets) elements
            steps = draft.fit_argument("steps_per_epoch")  # a repeated pipeline never ends
            taken = x if steps is None else f"{x}.take({draft.code(steps)})"
            adapted_on = f"{taken}.map(lambda features, *_: features)"
        site.setup += [
            f"{layer} = {names.ref('layers', 'Normalization')}()",
            f"{layer}.adapt({adapted_on})",
        ]
    site.prefix.append((_RANK[edit.step], layer))


def augment(edit: Augment, draft: Draft) -> None:
    site = _prefix_site(edit, draft)
    if site is None:
        return
    names = draft.script.names
    layers = [
        call(names.ref("layers", spec.name), keywords(spec.kwargs), column=len(INDENT))
        for spec in edit.layers
    ]
    variable = names.fresh("augmentation")
    site.setup.append(
        f"# Random changes to each training image; Keras applies them in fit only.\n"
        f"{variable} = {names.ref('', 'Sequential')}({listing(layers)})"
    )
    site.prefix.append((_RANK["augment"], variable))


def _prefix_site(edit: PrependInputStep | Augment, draft: Draft) -> ModelSite | None:
    """The model site front layers go into, or None (said in the draft) when there is none
    or no layer can be put in front of it."""
    site = draft.model_site(edit)
    blocker = None if site is None else site.prefix_blocker()
    if blocker is not None:
        draft.skip(edit, blocker)
        return None
    return site
