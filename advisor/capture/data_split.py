"""The advisor's train / validation / selection / holdout split of the user's rows.

Every fit of the advisor (probe, baseline, fixes) trains and validates on the same slices, and
the holdout is carved before anything trains: no fit and no choice between fixes sees it.

When the script validates on ``validation_split``, the holdout and the selection slice are
drawn first, at random (stratified by class for class labels), from *all* the user's rows,
and Keras' rule is then applied to the rows left: the last ``validation_split`` of them
validate, in the user's order. The baseline thus validates as the user's fit does, while a fix
that shuffles before the split changes which rows validate, and both are
judged on slices drawn like the data as a whole. Carved from the training part alone, the
holdout and selection slices would hold none of the rows a sorted split sets aside, and no
fix could show what shuffling gains.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from sklearn.model_selection import train_test_split

from advisor.arrays import concat_slices, rows, take_slice
from advisor.capture.fit_data import (
    ADVISOR_VALIDATION_FRACTION,
    HOLDOUT_FRACTION,
    MIN_HOLDOUT,
    SEEDS_WITHOUT_HOLDOUT,
    SPLIT_SEED,
    FitData,
    class_labels,
    stream_layout,
)
from advisor.errors import AdvisorError
from advisor.plan import DataSplit, ScriptRows
from advisor.streams import DataStreams


def split(data: FitData) -> DataSplit:
    """Train / validation / holdout arrays; the holdout is never trained on nor selected on.

    Small data is never refused for the holdout's sake: below :data:`MIN_HOLDOUT` rows of
    holdout there is none, the comparison runs on validation over :data:`SEEDS_WITHOUT_HOLDOUT`
    seeds, and the split's notes say plainly how weak that evidence is.
    """
    if data.stream is not None:
        return streamed_split(data)
    if data.validation_source == "validation_split" and data.x_val is not None:
        n_rows = rows(data.y) + rows(data.y_val)
        if round(n_rows * HOLDOUT_FRACTION) >= MIN_HOLDOUT:
            return _split_of_all_rows(data)
    rng = np.random.default_rng(SPLIT_SEED)
    x, y, w = data.x, data.y, data.w
    if data.x_val is None or data.y_val is None:
        if rows(y) < 2:
            raise AdvisorError(
                f"only {rows(y)} training sample and no validation data: the advisor needs at "
                "least 2 samples (one to train, one to validate), or pass validation_data"
            )
        order = rng.permutation(rows(y))
        n_val = min(max(round(rows(y) * ADVISOR_VALIDATION_FRACTION), 1), rows(y) - 1)
        x_val, y_val, w_val = take_slice(x, y, w, order[:n_val])
        x, y, w = take_slice(x, y, w, order[n_val:])
    else:
        x_val, y_val, w_val = data.x_val, data.y_val, data.w_val
    order = rng.permutation(rows(y))
    n_holdout = round(rows(y) * HOLDOUT_FRACTION)
    if n_holdout < MIN_HOLDOUT:
        n_holdout, min_repeats = 0, SEEDS_WITHOUT_HOLDOUT
        notes: tuple[str, ...] = (
            _cross_validation_note(rows(y) + rows(y_val))
            if data.validation_source == "advisor_holdout"
            else _weak_evidence_note(rows(y), rows(y_val)),
        )
    else:
        min_repeats, notes = 1, ()
    x_train, y_train, w_train = take_slice(x, y, w, np.sort(order[n_holdout:]))
    x_holdout, y_holdout, w_holdout = take_slice(x, y, w, order[:n_holdout])
    return DataSplit(
        x_train=x_train,
        y_train=y_train,
        x_val=x_val,
        y_val=y_val,
        x_holdout=x_holdout,
        y_holdout=y_holdout,
        validation_source=data.validation_source,
        min_repeats=min_repeats,
        notes=notes,
        w_train=w_train,
        w_val=w_val,
        w_holdout=w_holdout,
    )


def _split_of_all_rows(data: FitData) -> DataSplit:
    """A ``validation_split`` script's rows: holdout and selection slices (each
    :data:`HOLDOUT_FRACTION` of all rows) drawn from all of them, then Keras' last-slice rule
    on the rest, in the user's order."""
    x, y, w = concat_slices([(data.x, data.y, data.w), (data.x_val, data.y_val, data.w_val)])
    n_rows = rows(y)
    n_drawn = round(n_rows * HOLDOUT_FRACTION)
    labels = class_labels(y)
    holdout, rest = _draw(np.arange(n_rows), labels, n_drawn, SPLIT_SEED)
    select, kept = _draw(rest, labels, n_drawn, SPLIT_SEED + 1)
    kept = np.sort(kept)
    cut = int(np.floor(len(kept) * (1.0 - data.validation_split)))
    cut = min(max(cut, 1), len(kept) - 1)
    x_train, y_train, w_train = take_slice(x, y, w, kept[:cut])
    x_val, y_val, w_val = take_slice(x, y, w, kept[cut:])
    x_select, y_select, w_select = take_slice(x, y, w, select)
    x_holdout, y_holdout, w_holdout = take_slice(x, y, w, holdout)
    script_rows = ScriptRows(kept[:cut], kept[cut:], select, holdout, data.validation_split)
    return DataSplit(
        x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val,
        x_holdout=x_holdout, y_holdout=y_holdout, validation_source="validation_split",
        x_select=x_select, y_select=y_select, w_train=w_train, w_val=w_val,
        w_holdout=w_holdout, w_select=w_select, script_rows=script_rows,
    )  # fmt: skip


def _draw(
    index: np.ndarray, labels: np.ndarray | None, size: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``size`` of ``index`` at random (stratified by ``labels`` where every class can be),
    sorted, and the rest."""
    strata = None if labels is None else labels[index]
    try:
        rest, chosen = train_test_split(index, test_size=size, random_state=seed, stratify=strata)
    except ValueError:  # a class too rare to stratify on: a plain random draw
        rest, chosen = train_test_split(index, test_size=size, random_state=seed)
    return np.sort(chosen), np.sort(rest)


def streamed_split(data: FitData) -> DataSplit:
    """The slices of a streamed dataset, as buckets of its batch index (see
    :mod:`advisor.streams`); the arrays are the bounded sample's rows in the same slices."""
    assert data.stream is not None
    carve = data.val_stream is None
    layout = stream_layout(carve=carve)
    # The sample is of training batches only (see read_source): no decision reads the others.
    x_none, y_none, w_none = take_slice(data.x, data.y, data.w, np.arange(0))
    if carve:
        x_val, y_val, w_val = x_none, y_none, w_none
        val_stream = replace(data.stream, buckets=layout.val)
    else:
        x_val, y_val, w_val = data.x_val, data.y_val, data.w_val
        assert data.val_stream is not None
        val_stream = data.val_stream
    streams = DataStreams(
        train=replace(data.stream, buckets=layout.train),
        val=val_stream,
        select=replace(data.stream, buckets=layout.select),
        holdout=replace(data.stream, buckets=layout.holdout),
        class_weight=data.class_weight,
    )
    return DataSplit(
        x_train=data.x, y_train=data.y, x_val=x_val, y_val=y_val,
        x_holdout=x_none, y_holdout=y_none, validation_source=data.validation_source,
        x_select=x_none, y_select=y_none, w_train=data.w, w_val=w_val,
        w_holdout=w_none, w_select=w_none, streams=streams,
    )  # fmt: skip


def _weak_evidence_note(n_train: int, n_val: int) -> str:
    return (
        f"only {n_train} training samples: too few to set aside a holdout of {MIN_HOLDOUT}, so "
        f"fixes are chosen and measured on the same {n_val} validation samples over "
        f"{SEEDS_WITHOUT_HOLDOUT} seeds; that favours the fix and is weak evidence either way, "
        "so an adopted fix is at most 'unconfirmed'"
    )


def _cross_validation_note(n_rows: int) -> str:
    return (
        f"only {n_rows} rows and no validation data: every row is needed, so fixes are decided "
        f"by cross-validation over all {n_rows} rows (each fold trains without the rows it is "
        "scored on) and the model handed out trains on every row; no untouched holdout is "
        "left, so an adopted fix is at most 'unconfirmed'"
    )
