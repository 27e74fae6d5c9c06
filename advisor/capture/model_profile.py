"""The output layer, the compiled loss and the training targets, measured for the model rules.

The rules read the result (:class:`advisor.model_facts.ModelProfile`) without TensorFlow; this
module looks at the Keras model. The effective output activation is the last non-linear one
from the output Dense layer on: ``Dense(1)`` followed by ``Activation("sigmoid")`` is a
sigmoid head. The user's model is only read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from advisor.arrays import for_head, is_several, parts
from advisor.capture.metric_shapes import broadcasting_metrics
from advisor.keras_model.inspect import output_head, output_heads
from advisor.model_facts import (
    ModelProfile,
    constant_loss,
    loss_name,
    metric_names,
    summarise_targets,
    zero_loss,
)
from advisor.plan import TrainingPlan


def profile(plan: TrainingPlan) -> ModelProfile | None:
    """The :class:`ModelProfile` of a plan: its model's head, its loss and its training targets.

    None for a model with several outputs: the model rules judge one head against one target
    array, and would misread a list or dict of them (the model rules are then skipped)."""
    if is_several(plan.data.y_train):
        return None
    activation, units = output_head(plan.model.source)
    y = np.asarray(plan.data.y_train)
    return _profile(plan, (activation, units), plan.compile.loss, y, plan.compile.metrics)


def head_profiles(plan: TrainingPlan) -> tuple[ModelProfile, ...]:
    """One :class:`ModelProfile` per output of a functional model with several, each named
    by its output (``head``) and read from that output's layer, loss, metrics and targets, so
    the model rules judge each head as they judge a single one; empty otherwise."""
    model, y = plan.model.source, plan.data.y_train
    names = list(getattr(model, "output_names", None) or ())
    heads = output_heads(model) if is_several(y) else ()
    if not heads or len(heads) != len(names) or len(parts(y)) != len(names):
        return ()
    metrics = plan.compile.metrics
    return tuple(
        replace(
            _profile(
                plan,
                head,
                for_head(plan.compile.loss, name, index),
                np.asarray(for_head(y, name, index)),
                metrics.get(name, ()) if isinstance(metrics, Mapping) else (),
            ),
            head=name,
        )
        for index, (name, head) in enumerate(zip(names, heads, strict=True))
    )


def _profile(
    plan: TrainingPlan,
    head: tuple[str | None, int | None],
    loss: Any,
    y: np.ndarray,
    metrics: Any,
) -> ModelProfile:
    activation, units = head
    name = loss_name(loss)
    return ModelProfile(
        output_activation=activation,
        output_units=units,
        loss_name=name,
        from_logits=_from_logits(loss),
        targets=summarise_targets(y),
        constant_loss=constant_loss(name, y, plan.data.w_train),
        zero_loss=zero_loss(name, y),
        largest_dropout=max(plan.model.dropout_rates, default=0.0),
        metric_names=metric_names(metrics),
        broadcasting_metrics=broadcasting_metrics(metrics, y, units),
    )


def _from_logits(loss: Any) -> bool:
    """``from_logits`` of a loss object; names and plain functions take Keras' default, False."""
    get_config = getattr(loss, "get_config", None)
    if get_config is None:
        return False
    try:
        return bool(get_config().get("from_logits", False))
    except Exception:  # a custom loss whose config cannot be read says nothing about logits
        return False
