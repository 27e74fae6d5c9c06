"""Training on standardised targets, as the ``scale-target`` fix trains: ``fit`` gets
``(y - mean) / std`` (its validation targets alike), the mean and standard deviation of the rows
``fit`` trains on (all but ``validation_split``'s last slice), and after ``fit`` the model is
followed by ``Rescaling(std, offset=mean)`` and compiled again as the script compiles it, so
everything after ``fit`` (``evaluate``, ``predict``, ``save``) sees predictions in the script's
units, as the exported model gives them.
"""

from __future__ import annotations

import libcst as cst

from advisor.patch.draft import Draft
from advisor.patch.locate import receiver
from advisor.plan_edits import ScaleTarget

_IN_WORDS = (
    "train on standardised targets: fit on (y - y.mean()) / y.std() (validation targets "
    "alike) and put keras.layers.Rescaling(y.std(), offset=y.mean()) after the model"
)


def scale_target(edit: ScaleTarget, draft: Draft) -> None:
    why = _unwritable(draft)
    if why is not None:
        draft.skip(edit, f"{_IN_WORDS}; the patch does not rewrite the targets: {why}")
        return
    y = draft.fit_argument("y")
    assert y is not None
    names, code = draft.script.names, draft.code(y)
    np = names.numpy_name()
    mean, std = names.fresh("target_mean"), names.fresh("target_std")
    rows = names.fresh("target_rows")
    if not isinstance(y, cst.Name | cst.Attribute | cst.Subscript):
        targets = names.fresh("fit_targets")
        draft.before_fit.append(f"{targets} = {code}")
        code = targets
    split = draft.fit_argument("validation_split")
    trained = f"[: int(len({code}) * (1 - {draft.code(split)}))]" if split is not None else ""
    draft.before_fit += [
        "# Train on standardised targets (moments of the rows fit trains on); a Rescaling\n"
        "# layer after fit maps the model's predictions back to the script's units.\n"
        f'{rows} = {np}.asarray({code}, dtype="float64"){trained}',
        f"{mean}, {std} = float({rows}.mean()), float({rows}.std()) or 1.0",
    ]
    draft.fit_arguments["y"] = f"({code} - {mean}) / {std}"
    validation = draft.fit_argument("validation_data")
    if isinstance(validation, cst.Tuple):
        parts = [draft.code(e.value) for e in validation.elements]
        parts[1] = f"({parts[1]} - {mean}) / {std}"
        draft.fit_arguments["validation_data"] = f"({', '.join(parts)})"
    model = receiver(draft.fit)
    rescaling = f"{names.ref('layers', 'Rescaling')}({std}, offset={mean})"
    draft.after_fit.append(
        "# Trained on standardised targets: predictions in the script's units again.\n"
        f"{model} = {names.ref('', 'Sequential')}([{model}, {rescaling}])"
    )
    draft.recompile_after_fit = True


def _unwritable(draft: Draft) -> str | None:
    """Why the targets cannot be rewritten in this script, or None."""
    model = receiver(draft.fit)
    if model is None or "." in model:
        return "the fitted model is not a plain variable"
    if draft.compile is None or draft.script.scope_of(draft.compile) is not draft.script.scope_of(
        draft.fit
    ):
        return "the model is not compiled where it is fitted (it is compiled again after fit)"
    if not isinstance(draft.model, str) and draft.model.other_inputs:
        return "the model takes several inputs (a Sequential cannot follow it with Rescaling)"
    if draft.fit_argument("y") is None:
        return "the fit takes no separate targets"
    validation = draft.fit_argument("validation_data")
    if validation is not None and not (
        isinstance(validation, cst.Tuple) and len(validation.elements) in (2, 3)
    ):
        return "the fit's validation_data is not a tuple the patch can rewrite"
    return None
