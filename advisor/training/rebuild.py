"""Rebuild the user's model with fresh weights, rewritten by the edits a plan carries.

This is the only place that builds a Keras model from the user's one. Every training run the
advisor makes starts from :func:`fresh_model`, so runs are compared from the same kind of start:
the user's architecture, newly initialised weights (under the caller's global seed), adapted
preprocessing state kept, and the plan's model edits applied: layer edits by the graph rewrite
(:mod:`advisor.training.graph_rewrite`), augmentation and input steps by the wrappers in front
(:mod:`advisor.training.wrappers`).

A subclassed model is Python code Keras cannot look into: it is recreated from its config
(:mod:`advisor.training.subclass_rebuild`) and returned without the layer edits, with a note
saying so. The user's model is only read, never compiled, built, fitted or changed. A rebuilt
model must load with plain ``keras.saving.load_model``, so nothing here defines a custom layer.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import keras

from advisor.arrays import Structure
from advisor.plan import ModelRecipe
from advisor.plan_edits import Augment, PlanEdit, PrependInputStep
from advisor.training.graph_rewrite import Rewrite, rewrite_model
from advisor.training.subclass_rebuild import rebuild_subclassed
from advisor.training.wrappers import prepend_augmentation, prepend_input_steps

_NOT_REWRITABLE = "subclassed models cannot be rewritten layer by layer"


@dataclass(frozen=True)
class RebuiltModel:
    """A new, uncompiled model with fresh weights, and what of the request could not be done."""

    model: keras.Model
    notes: tuple[str, ...]


def fresh_model(
    recipe: ModelRecipe, edits: Sequence[PlanEdit] = (), *, x_train: Structure | None = None
) -> RebuiltModel:
    """The user's architecture with fresh weights and the plan's model ``edits`` applied.

    Weights are initialised from Keras' global seed, which the caller sets. ``x_train`` is only
    read to fit the input steps (fill values, feature means and variances).
    """
    steps = tuple(edit.step for edit in edits if isinstance(edit, PrependInputStep))
    if steps and x_train is None:
        raise ValueError(f"x_train is required to fit the input steps {steps}")
    if recipe.kind == "subclassed":
        model = rebuild_subclassed(recipe.source)
        asked = Rewrite(edits).asked()
        notes = tuple(f"{name} not applied: {_NOT_REWRITABLE}" for name in asked)
    else:
        model, notes = rewrite_model(recipe.source, recipe.kind, edits)
    augmentation = [layer for edit in edits if isinstance(edit, Augment) for layer in edit.layers]
    if augmentation:
        model, augmentation_notes = prepend_augmentation(model, recipe.source, augmentation)
        notes += augmentation_notes
    if steps:
        assert x_train is not None  # checked above; narrows the type for mypy
        model = prepend_input_steps(model, recipe.source, steps, x_train)
    return RebuiltModel(model=model, notes=notes)


@contextmanager
def user_world(source: keras.Model) -> Iterator[None]:
    """Build and compile as the user's model was: inside its ``tf.distribute`` strategy (the
    variables must be created there for its fit to be distributed) and under its dtype policy
    (so a mixed-precision model gets mixed-precision layers and loss scaling again)."""
    strategy = getattr(source, "distribute_strategy", None)
    saved_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(source.dtype_policy)
    try:
        with strategy.scope() if strategy is not None else nullcontext():
            yield
    finally:
        keras.config.set_dtype_policy(saved_policy)
