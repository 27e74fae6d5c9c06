"""``legacy_edits``: the edits a plan's fix fields stand for, until plans carry ``edits``.

Temporary: the fix refactor gives every :class:`~advisor.plan.TrainingPlan` its ordered
``edits``; until then this reads the fields the fixes set. Its only caller is
:func:`advisor.patch.report.script_patch`; delete both lines when ``plan.edits`` lands.
"""

from __future__ import annotations

from advisor import plan_edits as e
from advisor.plan import TrainingPlan

# The callbacks each fix adds (the fixes skip when the script already has one of that class).
_FIX_CALLBACKS = {
    "early-stopping": "EarlyStopping",
    "train-longer": "EarlyStopping",
    "lr-decay": "ReduceLROnPlateau",
}


def legacy_edits(plan: TrainingPlan) -> tuple[e.PlanEdit, ...]:
    fixes = plan.applied_fixes
    edits: list[e.PlanEdit] = [e.PrependInputStep(step, step) for step in plan.input_steps]
    if plan.augmentation:
        layers = tuple(e.LayerSpec(s.name, dict(s.kwargs)) for s in plan.augmentation)
        edits.append(e.Augment("augment", layers))
    if plan.dropout_rate:
        edits.append(e.DropoutAfterHidden("dropout", plan.dropout_rate))
    if plan.l1 or plan.l2:
        edits.append(
            e.KernelPenalty("elastic-net" if "elastic-net" in fixes else "l2", plan.l1, plan.l2)
        )
    if plan.activation_swap is not None:
        swap = plan.activation_swap
        edits.append(
            e.SwapActivation("relu-he", swap.replaced, swap.activation, swap.kernel_initializer)
        )
    if plan.batch_norm:
        edits.append(e.BatchNormBeforeActivation("batch-norm"))
    if plan.head is not None:
        head = plan.head
        edits.append(e.ReplaceHead("repair-head", head.activation, head.units, head.loss))
    if plan.target_scaling:
        edits.append(e.ScaleTarget("scale-target"))
    if "adaptive-optimizer" in fixes and not isinstance(plan.compile.optimizer, str):
        edits.append(e.ReplaceOptimizer("adaptive-optimizer", dict(plan.compile.optimizer)))
    if plan.learning_rate_factor != 1.0:
        edits.append(e.ScaleLearningRate("lower-lr", plan.learning_rate_factor))
    if plan.clipnorm:
        edits.append(e.ClipGradients("clip-gradients", plan.clipnorm))
    for fix in fixes:
        name = _FIX_CALLBACKS.get(fix)
        spec = next((c for c in plan.callbacks if c.name == name), None)
        if spec is not None and not any(
            isinstance(x, e.AddCallback) and x.callback.name == name for x in edits
        ):
            edits.append(e.AddCallback(fix, e.CallbackSpec(spec.name, dict(spec.kwargs))))
    # train-longer measured a budget `factor` times the baseline's: in the script, times theirs.
    if "train-longer" in fixes and plan.baseline_epochs:
        factor = plan.epochs // plan.baseline_epochs
        edits.append(e.SetEpochs("train-longer", (plan.user_epochs or plan.epochs) * factor))
    return tuple(edits)
