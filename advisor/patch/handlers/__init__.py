"""One handler per plan edit type: the change each edit makes to the user's script.

:data:`HANDLERS` is keyed on the edit's class; a new edit type adds its handler here. An edit
with no handler is listed as not applied, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from advisor import plan_edits as e
from advisor.patch.draft import Draft
from advisor.patch.handlers import fit, inputs, layers, optimizer, targets

Handler = Callable[[Any, Draft], None]

HANDLERS: dict[type[Any], Handler] = {
    e.PrependInputStep: inputs.prepend_input_step,
    e.Augment: inputs.augment,
    e.ScaleTarget: targets.scale_target,
    e.DropoutAfterHidden: layers.dropout_after_hidden,
    e.KernelPenalty: layers.kernel_penalty,
    e.SwapActivation: layers.swap_activation,
    e.BatchNormBeforeActivation: layers.batch_norm_before_activation,
    e.ReplaceHead: layers.replace_head,
    e.WidenHidden: layers.widen_hidden,
    e.ScaleUserRegularisation: layers.scale_user_regularisation,
    e.ScaleLearningRate: optimizer.scale_learning_rate,
    e.ReplaceOptimizer: optimizer.replace_optimizer,
    e.ClipGradients: optimizer.clip_gradients,
    e.AddCallback: fit.add_callback,
    e.SetEpochs: fit.set_epochs,
    e.SetClassWeight: fit.set_class_weight,
    e.ShuffleBeforeSplit: fit.shuffle_before_split,
}


def apply_edit(edit: Any, draft: Draft) -> None:
    handler = HANDLERS.get(type(edit))
    if handler is None:
        draft.skip(edit, f"{type(edit).__name__} has no script edit")
    else:
        handler(edit, draft)
