"""Edits of the model's own layers: Dropout, kernel penalties, activations, BatchNormalization,
the output layer and widths, written into the layer expressions of the script.

Each handler changes the slots of :class:`~advisor.patch.model.ModelSite` the way
``advisor.training.rebuild`` changes the layer objects, so the patched script builds the
model the advisor measured.
"""

from __future__ import annotations

import libcst as cst

from advisor.patch import layers as kinds
from advisor.patch.draft import Draft
from advisor.patch.model import Slot
from advisor.patch.source import call, layer_call, literal, set_arguments
from advisor.plan_edits import (
    BatchNormBeforeActivation,
    DropoutAfterHidden,
    KernelPenalty,
    ReplaceHead,
    ScaleUserRegularisation,
    SwapActivation,
    WidenHidden,
)


def _set(slot: Slot, **arguments: str | None) -> None:
    slot.layer = set_arguments(slot.layer, arguments, {"units": 0, "filters": 0, "rate": 0})


def dropout_after_hidden(edit: DropoutAfterHidden, draft: Draft) -> None:
    site = draft.model_site(edit)
    if site is None:
        return
    sites = site.dropout_sites()
    recurrent = [s for s in site.layers if s.name in kinds.RECURRENT]
    if not sites and not recurrent:
        draft.skip(
            edit, "the model has no hidden Dense, Flatten, global pooling or recurrent layer"
        )
        return
    dropout = call(draft.script.names.ref("layers", "Dropout"), [literal(edit.rate)])
    for slot in sites:
        slot.after.append(dropout)
    for slot in recurrent:
        _set(slot, recurrent_dropout=literal(edit.rate))


def kernel_penalty(edit: KernelPenalty, draft: Draft) -> None:
    site = draft.model_site(edit)
    if site is None:
        return
    targets = [s for s in site.layers if s.name in kinds.KERNEL]
    if not targets:
        draft.skip(edit, "the model has no Dense, Conv or recurrent layer")
        return
    if edit.l1 and edit.l2:
        name, arguments = "L1L2", [f"l1={literal(edit.l1)}", f"l2={literal(edit.l2)}"]
    else:
        name, arguments = ("L1", [literal(edit.l1)]) if edit.l1 else ("L2", [literal(edit.l2)])
    regularizer = call(draft.script.names.ref("regularizers", name), arguments)
    for slot in targets:
        _set(slot, kernel_regularizer=regularizer)


def swap_activation(edit: SwapActivation, draft: Draft) -> None:
    site = draft.model_site(edit)
    if site is None:
        return
    swapped = 0
    for slot in site.hidden_kernels():
        activation = kinds.activation_of(slot.layer)
        if activation is None:
            draft.skip(edit, f"the activation of `{draft.code(slot.original)}` is not a string")
        elif activation in edit.replaced:
            _set(
                slot,
                activation=literal(edit.activation),
                kernel_initializer=literal(edit.kernel_initializer),
            )
            swapped += 1
    if not swapped:
        draft.skip(edit, f"no hidden Dense/Conv layer uses {'/'.join(edit.replaced)}")


def batch_norm_before_activation(edit: BatchNormBeforeActivation, draft: Draft) -> None:
    site = draft.model_site(edit)
    if site is None:
        return
    hidden = site.hidden_kernels()
    if not hidden:
        draft.skip(edit, "the model has no hidden Dense/Conv layer")
    names = draft.script.names
    for slot in hidden:
        activation = kinds.activation_of(slot.layer)
        if activation is None:
            draft.skip(
                edit,
                f"no BatchNormalization in `{draft.code(slot.original)}`: its activation is not "
                "a string",
            )
            continue
        channels_first = kinds.string_value(_value(slot.layer, "data_format")) == "channels_first"
        layers = [
            call(names.ref("layers", "BatchNormalization"), ["axis=1"] if channels_first else [])
        ]
        if activation != "linear":
            layers.append(call(names.ref("layers", "Activation"), [literal(activation)]))
        _set(slot, activation=None)
        slot.after[0:0] = layers


def _value(node: cst.Call, name: str) -> cst.BaseExpression | None:
    given = kinds.argument(node, name)
    return None if given is None else given.value


def replace_head(edit: ReplaceHead, draft: Draft) -> None:
    site = draft.model_site(edit)
    if site is None:
        return
    if site.heads is not None and len(site.heads) > 1:
        draft.skip(edit, "the model has several outputs; the advisor repairs a single head only")
        return
    output = site.output()
    if output is None or output.name != "Dense":
        draft.skip(edit, "the model's output is not made by a Dense layer the patch can see")
        return
    if edit.units is not None:
        _set(output, units=str(edit.units))
    after = [s for s in site.after_output() if s.name in kinds.ACTIVATION]
    if after:  # the activation layer after the Dense carries the head's activation
        _set(output, activation=None)
        for number, slot in enumerate(after):
            activation = edit.activation if number == 0 else "linear"
            slot.layer = layer_call(
                call(draft.script.names.ref("layers", "Activation"), [literal(activation)])
            )
    else:
        _set(output, activation=literal(edit.activation))
    if edit.loss is not None:
        if draft.compile is None:
            draft.skip(edit, f"the compile call was not found; compile with loss={edit.loss!r}")
        else:
            draft.loss = literal(edit.loss)


def widen_hidden(edit: WidenHidden, draft: Draft) -> None:
    site = draft.model_site(edit)
    if site is None:
        return
    hidden = [s for s in site.hidden_kernels() if s.name == "Dense" or s.name.startswith("Conv")]
    for slot in hidden if edit.factor != 1.0 else ():
        size = "units" if slot.name == "Dense" else "filters"
        given = kinds.argument(slot.layer, size, 0)
        if given is None or not isinstance(given.value, cst.Integer):
            draft.skip(edit, f"the size of `{draft.code(slot.original)}` is not a number")
            continue
        _set(slot, **{size: str(max(1, round(int(given.value.value) * edit.factor)))})
    dense = [s for s in hidden if s.name == "Dense"]
    if edit.extra_layers and (not dense or dense[-1].in_loop):
        why = "is made in a comprehension" if dense else "is missing"
        draft.skip(edit, f"the hidden Dense layer to repeat after the last one {why}")
    elif edit.extra_layers:
        last = dense[-1]
        last.repeats += edit.extra_layers


def scale_user_regularisation(edit: ScaleUserRegularisation, draft: Draft) -> None:
    site = draft.model_site(edit)
    if site is None:
        return
    for slot in site.layers:
        given = kinds.argument(slot.layer, "rate", 0) if slot.name == "Dropout" else None
        if given is not None and isinstance(given.value, cst.Float | cst.Integer):
            rate = float(given.value.value) * edit.factor
            _set(slot, rate=literal(rate))
        penalty = _value(slot.layer, "kernel_regularizer")
        if isinstance(penalty, cst.Call) and len(penalty.args) == 1:
            amount = penalty.args[0].value
            if isinstance(amount, cst.Float | cst.Integer):
                new = penalty.with_changes(
                    args=[
                        penalty.args[0].with_changes(
                            value=cst.Float(literal(float(amount.value) * edit.factor))
                        )
                    ]
                )
                _set(slot, kernel_regularizer=draft.script.module.code_for_node(new))
