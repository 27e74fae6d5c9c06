"""## What it does
Adds `Dropout(rate)` after each hidden Dense, Flatten and global pooling layer, and sets
`recurrent_dropout=rate` in LSTM/GRU/SimpleRNN layers (Sequential and functional models).

## Why it helps
Dropping a random share of the units in every training step keeps units from relying on each
other's noise: the network cannot memorise the training set as easily, and validation loss
rises later or not at all.

## Fix safety
Safe at inference: Keras runs Dropout in training only, so the model handed out computes what
your architecture computes. Training is noisier and may need more epochs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from advisor.fix import Fix, FixKind, Knob, Param, Skipped
from advisor.fixes.builtin._shared import no_site, number, rewrites_layers
from advisor.plan import NO_DROPOUT_SITE, TrainingPlan
from advisor.plan_edits import DropoutAfterHidden

ID: Final = "dropout"


def apply(plan: TrainingPlan, params: Mapping[str, Param]) -> TrainingPlan | Skipped:
    return (
        rewrites_layers(ID, plan)
        or no_site(ID, plan.model.dropout_sites, NO_DROPOUT_SITE)
        or plan.with_edits(DropoutAfterHidden(ID, rate=number(params, "rate")))
    )


FIX = Fix(
    id=ID,
    kind=FixKind.REGULARISER,
    summary=(
        "`Dropout(rate)` after each hidden Dense, Flatten and global pooling layer; "
        "`recurrent_dropout=rate` in LSTM/GRU/SimpleRNN (Sequential, functional)"
    ),
    doc=__doc__ or "",
    apply=apply,
    knobs=(Knob("rate", 0.3, low=0.05, high=0.6),),
    # Regularisers doing the same job another way: tried as alternatives, never stacked.
    competes_with=("l2", "elastic-net"),
)
