"""Edits of ``fit``: callbacks, the epoch budget, class weights, shuffling before the split.

A callback is made in its own statement right before the ``fit`` and added to the script's
own ``callbacks`` list (or a new one); everything else the ``fit`` passes stays as it was.
"""

from __future__ import annotations

import re

import libcst as cst

from advisor.outcomes.scores import TASK_LOSS
from advisor.patch.draft import Draft
from advisor.patch.names import dotted
from advisor.patch.source import call, keywords, literal
from advisor.plan_edits import AddCallback, SetClassWeight, SetEpochs, ShuffleBeforeSplit


def _snake(name: str) -> str:
    """``ReduceLROnPlateau`` -> ``reduce_lr_on_plateau``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


_IN_A_LOOP = "the fit runs in a loop, which the advisor's fits trained as one fit"


def add_callback(edit: AddCallback, draft: Draft) -> None:
    spec = edit.callback
    if draft.fit_in_loop:
        draft.skip(edit, f"{_IN_A_LOOP}, and {spec.name} would restart with each call")
        return
    names = draft.script.names
    kwargs = dict(spec.kwargs)
    if TASK_LOSS in str(kwargs.get("monitor", "")) and not _log_task_loss(draft):
        kwargs["monitor"] = "val_loss"
        draft.skip(
            edit,
            f"{spec.name} watches val_loss, penalty included: the advisor watched val_{TASK_LOSS} "
            "(the loss without the penalty), a metric that would change what the script's "
            "model.evaluate returns",
        )
    variable = names.fresh(_snake(spec.name))
    made = call(names.ref("callbacks", spec.name), keywords(kwargs), column=len(variable) + 3)
    draft.before_fit.append(f"{variable} = {made}")
    draft.callbacks.append(variable)


def _log_task_loss(draft: Draft) -> bool:
    """Log the loss without the kernel penalty as ``task_loss``, as the advisor's fits did
    (a penalised ``val_loss`` would stop or decay training on the penalty itself)."""
    if any(TASK_LOSS in metric for metric in draft.metrics):
        return True
    if draft.evaluate_unpacked():
        return False
    loss = draft.loss or (
        draft.code(given) if (given := draft.compile_argument("loss")) is not None else None
    )
    if loss is None:
        return False
    names = draft.script.names
    variable = names.fresh(TASK_LOSS)
    metric = call(
        names.ref("metrics", "MeanMetricWrapper"),
        [f"{names.ref('losses', 'get')}({loss})", f"name={literal(TASK_LOSS)}"],
        column=len(variable) + 3,
    )
    draft.before_compile.append(f"{variable} = {metric}")
    draft.metrics.append(variable)
    return True


def set_epochs(edit: SetEpochs, draft: Draft) -> None:
    if draft.fit_in_loop:
        why = f"{_IN_A_LOOP}: change the loop's passes or each call's epochs"
        draft.skip(edit, f"train for {edit.epochs} epochs in all ({why})")
        return
    given = draft.fit_argument("epochs")
    if given is None or isinstance(given, cst.Integer):
        draft.fit_arguments["epochs"] = str(edit.epochs)
        return
    user = draft.facts.user_epochs
    code = draft.code(given)
    if user and edit.epochs % user == 0:
        plain = isinstance(given, cst.Name | cst.Attribute)
        draft.fit_arguments["epochs"] = f"{code if plain else f'({code})'} * {edit.epochs // user}"
    else:
        draft.skip(edit, f"the fit's epochs are `{code}`; train for {edit.epochs}")


def set_class_weight(edit: SetClassWeight, draft: Draft) -> None:
    draft.fit_arguments["class_weight"] = literal(dict(edit.class_weight))


def shuffle_before_split(edit: ShuffleBeforeSplit, draft: Draft) -> None:
    if draft.fit_argument("validation_split") is None:
        draft.skip(edit, "the fit takes no validation_split")
        return
    x, y = draft.fit_argument("x"), draft.fit_argument("y")
    x_name, y_name = (dotted(x) if x else None), (dotted(y) if y else None)
    if x_name is None or y_name is None:
        draft.skip(edit, "the fit's inputs and targets are not plain variables to shuffle")
        return
    names = draft.script.names
    order = names.fresh("shuffled")
    rng = f"{names.numpy_name()}.random.default_rng({edit.seed})"
    draft.before_fit += [
        "# validation_split takes the last rows: shuffle them first.\n"
        f"{order} = {rng}.permutation(len({x_name}))",
        f"{x_name}, {y_name} = {x_name}[{order}], {y_name}[{order}]",
    ]
