"""The data of a ``fit`` call as NumPy arrays, and the advisor's train/validation/holdout split.

Every later fit (probe, baseline, fixes) must see exactly the same samples, so whatever the user
passed (arrays, tensors, a ``tf.data.Dataset``, a ``keras.utils.PyDataset``) is materialised
once, unless it is a dataset larger than the sample budget: that one is streamed (see
:mod:`advisor.streams`), and only a bounded sample of it is read here. A Python generator, or
a dataset that repeats forever, is read for the batches the script's fit would draw from it,
each sample kept once (see :mod:`advisor.capture.repeats`); the fits replay them as arrays.
``validation_split`` is reproduced the way Keras does it (the *last* slice, before any
shuffling), for the rules to judge the user's own split. How the advisor then splits these
rows into train, validation, selection and holdout is :mod:`advisor.capture.data_split`'s job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from advisor.arrays import Structure, parts, rows, take_slice
from advisor.capture.fit_arrays import (
    SourceRead,
    check_cardinality,
    inputs_and_targets,
    is_dataset,
    is_generator,
    is_py_dataset,
    read_source,
    repeats_forever,
)
from advisor.errors import AdvisorError
from advisor.plan import KERAS_DEFAULT_BATCH_SIZE, ValidationSource
from advisor.streams import BucketLayout, StreamSlice, bucket_layout

HOLDOUT_FRACTION = 0.15
ADVISOR_VALIDATION_FRACTION = 0.2
# Fewer holdout rows than this measure nothing; the comparison then uses validation and seeds.
MIN_HOLDOUT = 5
SEEDS_WITHOUT_HOLDOUT = 3
# Training samples the advisor's fits use at most (a probe of minutes on a laptop CPU).
DEFAULT_MAX_SAMPLES = 20_000
# More distinct target values than this are not class labels to stratify on.
MAX_STRATA = 1_000
SPLIT_SEED = 20_261_124
DATASET_READ_ONCE = (
    "the tf.data.Dataset was read once into memory: every fit of the advisor sees that one pass, "
    "so random augmentation inside the pipeline is drawn once, not anew each epoch"
)


@dataclass(frozen=True)
class FitData:
    """What the user's ``fit`` trained and validated on, as arrays."""

    x: Structure
    y: Structure
    x_val: Structure | None
    y_val: Structure | None
    validation_source: ValidationSource
    batch_size: int | None
    notes: tuple[str, ...] = ()
    # Per-sample weights (from sample_weight, or class_weight by label); None: all equal.
    w: np.ndarray | None = None
    w_val: np.ndarray | None = None
    # A dataset too large to read (see advisor.streams): ``x``/``y`` are then a bounded
    # sample of its first training batches.
    stream: StreamSlice | None = None
    val_stream: StreamSlice | None = None
    class_weight: Mapping[int, float] | None = None
    # The fraction ``fit(validation_split=...)`` gave (0: none): the advisor's split keeps it.
    validation_split: float = 0.0
    # fit(steps_per_epoch=) on a dataset or generator: the passes over the samples read that
    # one of the script's epochs draws (None: an epoch is one pass, as for arrays).
    passes_per_epoch: float | None = None
    # The column names of a pandas DataFrame given as x, for findings to name the features.
    columns: tuple[str, ...] = ()


def fit_data(
    args: Sequence[Any], kwargs: Mapping[str, Any], *, max_samples: int = DEFAULT_MAX_SAMPLES
) -> FitData:
    """Materialise ``fit(x, y, ..., validation_split=, validation_data=)`` arguments, within
    a budget of ``max_samples`` training samples (see :func:`within_budget`)."""
    data = within_budget(_fit_data(args, kwargs, max_samples), max_samples)
    x = args[0] if args else kwargs.get("x")
    columns = getattr(x, "columns", None) if type(x).__module__.startswith("pandas") else None
    return data if columns is None else replace(data, columns=tuple(map(str, columns)))


def within_budget(data: FitData, max_samples: int) -> FitData:
    """At most ``max_samples`` training and a quarter as many validation samples, drawn at
    random with a fixed seed, stratified by class when the targets are class labels.

    Keeps every probe and retraining to minutes on a laptop whatever the dataset's size; the
    rows are copied only once they are chosen.
    """
    n_val_budget = max(max_samples // 4, 1)
    if data.stream is not None:  # already a bounded sample; fits stream the rest
        return data
    if rows(data.y) <= max_samples and (data.y_val is None or rows(data.y_val) <= n_val_budget):
        return data
    x, y, w = take_slice(data.x, data.y, data.w, _sample(data.y, max_samples))
    x_val, y_val, w_val = data.x_val, data.y_val, data.w_val
    shown = f"{rows(y)} of the {rows(data.y)} training samples"
    if x_val is not None and y_val is not None and rows(y_val) > n_val_budget:
        shown += f" and {n_val_budget} of the {rows(y_val)} validation samples"
        x_val, y_val, w_val = take_slice(x_val, y_val, w_val, _sample(y_val, n_val_budget))
    note = (
        f"the advisor's fits use a random {shown} (stratified by class where there are "
        f"classes); --max-samples sets this budget (default {DEFAULT_MAX_SAMPLES})"
    )
    return replace(
        data, x=x, y=y, w=w, x_val=x_val, y_val=y_val, w_val=w_val, notes=(*data.notes, note)
    )


def _sample(y: Structure, budget: int) -> np.ndarray:
    """Sorted indices of ``budget`` rows (all rows when there are no more)."""
    index = np.arange(rows(y))
    if rows(y) <= budget:
        return index
    labels = class_labels(y)
    try:
        chosen, _ = train_test_split(
            index, train_size=budget, random_state=SPLIT_SEED, stratify=labels
        )
    except ValueError:  # a class too rare to stratify on: a plain random sample
        chosen, _ = train_test_split(index, train_size=budget, random_state=SPLIT_SEED)
    return np.sort(chosen)


def class_labels(y: Structure) -> np.ndarray | None:
    """Integer labels (or one-hot rows) of a single head with few classes; None otherwise."""
    if len(parts(y)) != 1:
        return None
    target = np.asarray(parts(y)[0][1])
    if target.ndim == 2 and target.shape[1] > 1:
        target = target.argmax(axis=1)
    if target.ndim > 1 and target.shape[1:] != (1,):
        return None
    target = target.reshape(len(target))
    if target.dtype.kind not in "biu" or len(np.unique(target)) > MAX_STRATA:
        return None
    return target


def _fit_data(args: Sequence[Any], kwargs: Mapping[str, Any], max_samples: int) -> FitData:
    x = args[0] if args else kwargs.get("x")
    y = args[1] if len(args) > 1 else kwargs.get("y")
    steps = kwargs.get("steps_per_epoch")
    if x is None:
        raise AdvisorError("model.fit() was called without training data (x)")
    _check_fit_arguments(kwargs)
    epochs = epochs_trained(kwargs)
    if is_dataset(x) or is_py_dataset(x):
        layout = stream_layout(carve=kwargs.get("validation_data") is None)
        read = read_source(
            x, steps, max_samples, role="training data", sampled=layout.train, epochs=epochs
        )
        if read.stream is not None:
            return _streamed_fit_data(read, kwargs, max_samples)
    read = inputs_and_targets(x, y, steps, role="training data", epochs=epochs, budget=max_samples)
    x_arr, y_arr, read_notes = read.x, read.y, read.notes
    batch_size = kwargs.get("batch_size") or read.batch_size
    validation_data = kwargs.get("validation_data")
    validation_split = float(kwargs.get("validation_split") or 0.0)
    notes = (*read_notes, *((DATASET_READ_ONCE,) if is_dataset(x) else ()))
    passes = _passes_per_epoch(x, steps, batch_size, rows(y_arr))
    if passes is not None:
        shown = batch_size or KERAS_DEFAULT_BATCH_SIZE
        notes = (*notes, _epoch_note(steps, shown, rows(y_arr), passes))
    class_weight = kwargs.get("class_weight")
    sample_weight = kwargs.get("sample_weight") if read.w is None else read.w
    check_cardinality(x_arr, y_arr, sample_weight, role="training data")
    w = _weights(sample_weight, class_weight, y_arr)
    if validation_data is not None:
        x_val, y_val, given_w_val, val_notes = _validation_arrays(
            validation_data, kwargs.get("validation_steps"), max(max_samples // 4, 1)
        )
        # Keras weighs validation only by its given weights; the advisor judges fixes on the
        # objective the user trains for, so class weights apply to validation as well.
        w_val = _weights(given_w_val, class_weight, y_val)
        notes = (*notes, *val_notes)
        return FitData(
            x_arr, y_arr, x_val, y_val, "validation_data", batch_size, notes, w, w_val,
            passes_per_epoch=passes,
        )  # fmt: skip
    if validation_split > 0:
        cut = _validation_cut(x, rows(y_arr), validation_split)
        x_fit, y_fit, w_fit = take_slice(x_arr, y_arr, w, np.arange(cut))
        x_val, y_val, w_val = take_slice(x_arr, y_arr, w, np.arange(cut, rows(y_arr)))
        return FitData(
            x_fit, y_fit, x_val, y_val, "validation_split", batch_size, notes, w_fit, w_val,
            validation_split=validation_split,
        )  # fmt: skip
    note = (
        f"the script fits without validation data: the advisor holds out "
        f"{ADVISOR_VALIDATION_FRACTION:.0%} of the training data (random, fixed seed) as validation"
    )
    return FitData(
        x_arr, y_arr, None, None, "advisor_holdout", batch_size, (*notes, note), w,
        passes_per_epoch=passes,
    )  # fmt: skip


def _passes_per_epoch(x: Any, steps: Any, batch_size: int | None, n_rows: int) -> float | None:
    """The passes over ``n_rows`` samples that ``steps_per_epoch`` batches make; None for one
    pass. Keras draws the next epoch's batches on from where the last epoch stopped, and
    more than one pass only from a source that repeats (others run out of data)."""
    if not steps:
        return None
    passes = int(steps) * (batch_size or KERAS_DEFAULT_BATCH_SIZE) / n_rows
    return None if passes >= 1 and not _repeats(x) else passes


def _repeats(x: Any) -> bool:
    """Keras can draw more than one pass of ``x`` in an epoch (otherwise it runs out)."""
    return is_generator(x) or (is_dataset(x) and repeats_forever(x))


def _epoch_note(steps: object, batch_size: object, n_rows: int, passes: float) -> str:
    return (
        f"the script's epoch of steps_per_epoch={steps} batches of {batch_size} draws "
        f"{passes:.3g}x the {n_rows} samples read; each epoch of the advisor's fits draws "
        f"{passes:.3g}x its own training slice"
    )


def epochs_trained(kwargs: Mapping[str, Any]) -> int:
    """The epochs a ``fit`` call trains: Keras runs ``epochs - initial_epoch`` of them (at
    least one here, for an ``initial_epoch`` at or past ``epochs``)."""
    return max(int(kwargs.get("epochs", 1)) - int(kwargs.get("initial_epoch") or 0), 1)


def _streamed_fit_data(read: SourceRead, kwargs: Mapping[str, Any], max_samples: int) -> FitData:
    """A dataset larger than the budget: its first batches as the sample, the rest streamed."""
    class_weight = kwargs.get("class_weight") or None
    w = _weights(read.w, class_weight, read.y)
    notes = (_streamed_note(read, max_samples),)
    streamed = FitData(
        read.x, read.y, None, None, "advisor_holdout", read.batch_size, notes, w,
        stream=read.stream, class_weight=class_weight,
    )  # fmt: skip
    validation_data = kwargs.get("validation_data")
    if validation_data is None:
        return streamed
    if is_dataset(validation_data) or is_py_dataset(validation_data):
        steps = kwargs.get("validation_steps")
        val = read_source(validation_data, steps, max(max_samples // 4, 1), role="validation data")
        x_val, y_val, w_val = val.x, val.y, val.w
        val_stream = StreamSlice(validation_data, steps=steps)
    else:
        x_val, y_val, w_val, _ = _validation_arrays(validation_data, None, max_samples // 4)
        batch_size = read.batch_size or KERAS_DEFAULT_BATCH_SIZE
        val_stream = _arrays_stream((x_val, y_val, w_val), batch_size)
    return replace(
        streamed,
        x_val=x_val,
        y_val=y_val,
        w_val=_weights(w_val, class_weight, y_val),
        validation_source="validation_data",
        val_stream=val_stream,
    )


def stream_layout(*, carve: bool) -> BucketLayout:
    """The slices of a streamed dataset; ``carve``: the advisor carves validation too."""
    validation = ADVISOR_VALIDATION_FRACTION if carve else 0.0
    return bucket_layout(validation=validation, holdout=HOLDOUT_FRACTION)


def _arrays_stream(arrays: tuple[Any, Any, Any], batch_size: int) -> StreamSlice:
    """In-memory validation arrays as a stream of batches, beside a streamed training set."""
    import tensorflow as tf

    given = arrays if arrays[2] is not None else arrays[:2]
    return StreamSlice(tf.data.Dataset.from_tensor_slices(given).batch(batch_size))


def _streamed_note(read: SourceRead, budget: int) -> str:
    reshuffles = _reshuffles_each_epoch(read.stream.source if read.stream else None)
    return (
        f"the training data holds more than the {budget} samples the advisor reads into memory "
        "(--max-samples): it is streamed to every fit, its pipeline (and any random "
        f"augmentation in it) run anew each epoch; data profiles and rules read the first "
        f"{rows(read.y)} samples of its training batches; the validation (unless given), "
        "selection and holdout slices are fixed sets of its batches, chosen by batch index"
        + (
            "; the pipeline reshuffles each epoch before batching, so a batch index holds "
            "other samples each epoch and the slices share samples across epochs: shuffle "
            "files or shards instead, or pass validation_data, for a clean holdout"
            if reshuffles
            else ""
        )
    )


def _reshuffles_each_epoch(dataset: Any) -> bool:
    """Whether a ``tf.data`` pipeline has a shuffle that reshuffles on each iteration."""
    while dataset is not None:
        if "Shuffle" in type(dataset).__name__ and getattr(
            dataset, "_reshuffle_each_iteration", True
        ):
            return True
        dataset = getattr(dataset, "_input_dataset", None)
    return False


def _check_fit_arguments(kwargs: Mapping[str, Any]) -> None:
    """Refuse, as Keras would, ``fit`` arguments no training can run with."""
    if "epochs" in kwargs and not _is_count(kwargs["epochs"]):
        raise AdvisorError(
            f"model.fit(epochs={kwargs['epochs']!r}): epochs must be a whole number of at "
            "least 1 (Keras cannot train for it)"
        )
    batch_size = kwargs.get("batch_size")
    if batch_size is not None and not _is_count(batch_size):
        raise AdvisorError(
            f"model.fit(batch_size={batch_size!r}): batch_size must be a whole number of at "
            "least 1, or None"
        )
    split = kwargs.get("validation_split") or 0.0
    if not isinstance(split, int | float) or isinstance(split, bool) or not 0 <= split < 1:
        raise AdvisorError(
            f"model.fit(validation_split={split!r}): validation_split must be a fraction "
            "from 0 up to (not including) 1"
        )


def _is_count(value: Any) -> bool:
    """A whole number of at least 1 (NumPy integers too, never a bool)."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool) and bool(value >= 1)


def _validation_cut(x: Any, n: int, validation_split: float) -> int:
    """Where Keras' ``validation_split`` cuts ``n`` samples, or Keras' refusal as an error."""
    if is_dataset(x) or is_py_dataset(x) or is_generator(x):
        raise AdvisorError(
            "validation_split is only supported for tensors or NumPy arrays (Keras refuses it "
            "for a dataset or a generator); pass validation_data instead"
        )
    cut = int(np.floor(n * (1.0 - validation_split)))
    if cut in (0, n):
        raise AdvisorError(
            f"the training data contains {n} samples, which is not sufficient to split it into "
            f"a validation and training set as specified by validation_split={validation_split} "
            "(Keras refuses it); provide more data or a different validation_split"
        )
    return cut


def _weights(sample_weight: Any, class_weight: Any, y: Structure) -> np.ndarray | None:
    """One weight per sample: ``sample_weight`` as given, or ``class_weight`` of each label."""
    if sample_weight is not None:
        return np.asarray(sample_weight, dtype="float64").reshape(rows(y))
    if not class_weight:
        return None
    # Keras rounds float labels (0.0/1.0 for a sigmoid head) to the classes class_weight names.
    labels = class_labels(np.round(np.asarray(y)).astype(np.int64) if _is_float_array(y) else y)
    if labels is None:
        raise AdvisorError(
            "class_weight needs one head of class labels (integers or one-hot rows); "
            "pass sample_weight instead"
        )
    return np.array([float(class_weight.get(int(label), 1.0)) for label in labels])


def _is_float_array(y: Structure) -> bool:
    return isinstance(y, np.ndarray) and y.dtype.kind == "f"


def _validation_arrays(
    validation_data: Any, steps: int | None, budget: int
) -> tuple[Structure, Structure, Any, tuple[str, ...]]:
    """Validation inputs, targets, given weights, and notes on how a source was read."""
    if isinstance(validation_data, tuple | list):
        if len(validation_data) not in (2, 3):
            raise AdvisorError(
                "validation_data must be (x_val, y_val) or (x_val, y_val, sample_weight)"
            )
        read = inputs_and_targets(
            validation_data[0], validation_data[1], None, role="validation data", budget=budget
        )
        weights = validation_data[2] if len(validation_data) == 3 else None
        check_cardinality(read.x, read.y, weights, role="validation data")
        return read.x, read.y, weights, ()
    read = inputs_and_targets(validation_data, None, steps, role="validation data", budget=budget)
    return read.x, read.y, read.w, read.notes
