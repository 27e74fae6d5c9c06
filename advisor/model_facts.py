"""What the model rules may know about the model's output, its loss and its targets.

Measured once by :mod:`advisor.capture.model_profile` from the captured plan and handed to the
rules as ``RuleContext.model``; the repair-head fix reads the same target facts. Only NumPy is
needed here, so rules (which never import TensorFlow) and ``advisor check`` can use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

LossKind = Literal["binary", "sparse", "categorical", "regression", "other"]

# Keras' names for the regression losses whose best constant prediction has a closed form.
_SQUARED = ("mse", "mean_squared_error")
_ABSOLUTE = ("mae", "mean_absolute_error")
_REGRESSION = (
    *_SQUARED,
    *_ABSOLUTE,
    "huber",
    "log_cosh",
    "msle",
    "mean_squared_logarithmic_error",
    "mape",
    "mean_absolute_percentage_error",
)
# Keras clips probabilities to [eps, 1 - eps] before taking logs.
EPSILON = 1e-7
# Compiled metrics that only mean something for classes (accuracy, AUC, precision, recall):
# a script that compiles one classifies, whatever its loss says.
_CLASSIFICATION_METRIC = re.compile(r"accuracy|(^|_)acc($|_)|auc|precision|recall")
# Output activations that give probabilities: a head meant for classes.
PROBABILITY_HEADS = ("sigmoid", "softmax")
# The most classes flat integer targets may name and still read as class indices, every index
# from 0 present (more, or gaps, reads as a count); one-hot rows are labels at any width.
MAX_LABEL_CLASSES = 100
# Dropout that drops half the units or more: the first suspect when such a model cannot fit
# its training data (Keras' examples and most papers use 0.1..0.5).
HEAVY_DROPOUT = 0.5


@dataclass(frozen=True)
class TargetSummary:
    """The training targets in a few numbers: enough to tell labels from measurements.

    ``shape`` is one sample's shape (``()`` for a flat vector of labels); ``one_hot`` means rows
    of zeros with a single one, ``multi_hot`` rows of flags with any number of ones;
    ``n_distinct`` counts distinct values over all entries.
    """

    shape: tuple[int, ...]
    minimum: float
    maximum: float
    integer_valued: bool
    n_distinct: int
    one_hot: bool
    # Rows of 0/1 flags, several columns, some rows with more than one flag set or none:
    # several labels per sample (multi-label), not one class each.
    multi_hot: bool = False

    @property
    def n_classes(self) -> int | None:
        """Classes the targets can name: columns of one-hot rows, or ``max + 1`` for integer
        labels from 0; None when the targets are not class labels."""
        if self.one_hot:
            return self.shape[-1]
        if self.integer_valued and self.minimum >= 0 and self.width == 1:
            return int(self.maximum) + 1
        return None

    @property
    def class_labels(self) -> bool:
        """The targets read as class labels: one-hot rows, or integer indices 0..k-1 with
        every index present and at most ``MAX_LABEL_CLASSES`` of them."""
        if self.one_hot:
            return True
        classes = self.n_classes
        return classes is not None and self.n_distinct == classes and 2 <= classes <= (
            MAX_LABEL_CLASSES
        )

    @property
    def measurements(self) -> bool:
        """Numbers, not labels: values beyond 0..1 (not probabilities either) that are
        neither one-hot nor multi-hot rows nor class indices, and either not whole numbers or
        more distinct ones than labels come in (``MAX_LABEL_CLASSES``: disease progression
        scores of 25..346, prices). A few whole numbers such as -1, 0, 1 may be labels of
        another coding: not measurements."""
        if self.one_hot or self.multi_hot or self.class_labels:
            return False
        if self.minimum >= 0 and self.maximum <= 1:
            return False
        return not self.integer_valued or self.n_distinct > MAX_LABEL_CLASSES

    @property
    def width(self) -> int:
        """Values per sample (1 for a flat vector or a single column)."""
        return int(np.prod(self.shape)) if self.shape else 1


@dataclass(frozen=True)
class ModelProfile:
    """The output layer, the compiled loss and the targets, as the model rules read them.

    ``output_activation`` and ``output_units`` are None when the advisor cannot see the output
    layer (a subclassed model, several outputs, an output that is not a Dense layer).
    ``constant_loss`` is the loss of the best constant prediction on the training targets (the
    mean for MSE, the class frequencies for cross-entropy), None when it has no closed form;
    ``zero_loss`` is the loss of predicting 0 everywhere, what a fresh regression head roughly
    outputs (None except for squared and absolute error). ``largest_dropout`` is the highest
    rate of the model's own Dropout layers (0 without any): a model that cannot fit its data
    through heavy dropout needs less of it, not another fix.
    """

    output_activation: str | None
    output_units: int | None
    loss_name: str | None
    from_logits: bool
    targets: TargetSummary
    constant_loss: float | None = None
    zero_loss: float | None = None
    largest_dropout: float = 0.0
    metric_names: tuple[str, ...] = ()
    # The user's metric functions whose value depends on broadcasting (n,) targets against
    # (n, 1) outputs (see advisor.capture.metric_shapes).
    broadcasting_metrics: tuple[str, ...] = ()
    # The output this profile describes in a model with several (None: the only one).
    head: str | None = None

    @property
    def loss_kind(self) -> LossKind:
        return loss_kind(self.loss_name)

    @property
    def labels_loss(self) -> str | None:
        """The classification loss the labels call for instead of a regression loss (see
        :func:`labels_loss`), None when the compiled loss is not that fault."""
        return labels_loss(
            self.loss_name,
            self.targets,
            output_activation=self.output_activation,
            metric_names=self.metric_names,
        )

    @property
    def heavy_dropout(self) -> bool:
        return self.largest_dropout >= HEAVY_DROPOUT


def loss_kind(name: str | None) -> LossKind:
    """The family of a Keras loss, from its name (``"sparse_categorical_crossentropy"``,
    ``"BinaryCrossentropy"``'s ``name`` ``"binary_crossentropy"``, ``"mse"``...)."""
    if name is None:
        return "other"
    lowered = name.lower()
    if "sparse_categorical" in lowered:
        return "sparse"
    if "binary" in lowered:
        return "binary"
    if "categorical" in lowered:
        return "categorical"
    if lowered in _REGRESSION:
        return "regression"
    return "other"


def labels_loss(
    name: str | None,
    targets: TargetSummary,
    *,
    output_activation: str | None,
    metric_names: Iterable[str],
) -> str | None:
    """The classification loss class labels call for when a regression loss (MSE, MAE,
    Huber...) is compiled on them and the script means to classify (an accuracy-family
    metric, or a sigmoid/softmax output); None otherwise. One-hot rows call for
    ``categorical_crossentropy``, two classes for ``binary_crossentropy``, k for
    ``sparse_categorical_crossentropy``. A regression on integer targets without such a
    metric or head is left alone."""
    if loss_kind(name) != "regression" or not targets.class_labels:
        return None
    classifies = output_activation in PROBABILITY_HEADS or any(
        _CLASSIFICATION_METRIC.search(metric.lower()) for metric in metric_names
    )
    if not classifies:
        return None
    if targets.one_hot:
        return "categorical_crossentropy"
    return "binary_crossentropy" if targets.n_classes == 2 else "sparse_categorical_crossentropy"


def metric_names(metrics: Any) -> tuple[str, ...]:
    """The Keras names of compiled metrics given as a list, a tuple, a dict per output or
    nested lists of names, ``keras.metrics.Metric`` objects or functions."""
    if isinstance(metrics, Mapping):
        metrics = list(metrics.values())
    if metrics is None or isinstance(metrics, str) or not isinstance(metrics, list | tuple):
        name = loss_name(metrics)
        return () if name is None else (name,)
    return tuple(name for metric in metrics for name in metric_names(metric))


def loss_name(loss: Any) -> str | None:
    """The Keras name of a loss given as a string, a ``keras.losses.Loss`` or a function."""
    if loss is None or isinstance(loss, str):
        return loss
    name = getattr(loss, "name", None) or getattr(loss, "__name__", None)
    return str(name) if name else type(loss).__name__


def summarise_targets(y: Any) -> TargetSummary:
    """The :class:`TargetSummary` of an array of targets (non-finite entries ignored)."""
    values = np.asarray(y, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        finite = np.zeros(1)
    rows = values.reshape(len(values), -1)
    flags = bool(rows.shape[1] > 1 and np.isin(rows, (0.0, 1.0)).all())
    one_hot = flags and bool(np.array_equal(rows.sum(axis=1), np.ones(len(rows))))
    return TargetSummary(
        shape=tuple(int(n) for n in values.shape[1:]),
        minimum=float(finite.min()),
        maximum=float(finite.max()),
        integer_valued=bool(np.array_equal(finite, np.round(finite))),
        n_distinct=int(np.unique(finite).size),
        one_hot=one_hot,
        multi_hot=flags and not one_hot,
    )


def constant_loss(name: str | None, y: Any, weights: Any = None) -> float | None:
    """The loss of the best constant prediction on targets ``y`` under loss ``name``.

    Mean squared error: the variance (predicting the mean). Mean absolute error: the mean
    distance to the median. Cross-entropy: the entropy of the class frequencies (predicting
    them), which is ln k only for balanced classes. None for other losses or unusable targets.

    With per-sample ``weights`` (sample_weight, or class_weight by label) it is the loss Keras
    logs for that prediction, the weighted sum over the number of samples: the mean weight
    times the same measure taken on the weighted targets (class_weight={1: 10} on 5 %
    positives logs about 0.52 for guessing the prior, not the unweighted 0.20).
    """
    values = np.asarray(y, dtype=np.float64)
    if values.size == 0 or not np.isfinite(values).all():
        return None
    w = np.ones(len(values)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(values),) or not np.isfinite(w).all() or w.min() < 0 or w.sum() <= 0:
        return None
    unweighted = _constant_loss(name, values, w / w.sum())
    return None if unweighted is None else float(w.mean() * unweighted)


def _constant_loss(name: str | None, values: np.ndarray, share: np.ndarray) -> float | None:
    """:func:`constant_loss` with each sample counted by its ``share`` (shares sum to 1)."""
    kind, lowered = loss_kind(name), (name or "").lower()
    mean = np.tensordot(share, values, axes=1)
    if lowered in _SQUARED:
        return float(np.mean(np.tensordot(share, (values - mean) ** 2, axes=1)))
    if lowered in _ABSOLUTE:
        median = np.apply_along_axis(_weighted_median, 0, values, share)
        return float(np.mean(np.tensordot(share, np.abs(values - median), axes=1)))
    if kind == "binary" and values.min() >= 0 and values.max() <= 1:
        return float(np.mean([_entropy([p, 1 - p]) for p in np.ravel(mean)]))
    summary = summarise_targets(values)
    if kind == "sparse" and summary.n_classes is not None:
        labels = values.astype(int).reshape(len(values), -1)
        counted = np.bincount(labels.ravel(), weights=np.repeat(share, labels.shape[1]))
        return _entropy(counted / counted.sum())
    if kind == "categorical" and summary.one_hot:
        return _entropy(np.ravel(mean))
    return None


def _weighted_median(column: np.ndarray, share: np.ndarray) -> float:
    order = np.argsort(column)
    cumulative = np.cumsum(share[order])
    return float(column[order][np.searchsorted(cumulative, 0.5)])


def zero_loss(name: str | None, y: Any) -> float | None:
    """The loss of predicting 0 for every target, for squared and absolute error only."""
    values = np.asarray(y, dtype=np.float64)
    lowered = (name or "").lower()
    if values.size == 0 or not np.isfinite(values).all():
        return None
    if lowered in _SQUARED:
        return float(np.mean(values**2))
    if lowered in _ABSOLUTE:
        return float(np.mean(np.abs(values)))
    return None


def _entropy(probabilities: Any) -> float:
    p = np.clip(np.asarray(probabilities, dtype=np.float64), EPSILON, 1.0)
    return float(-(p * np.log(p))[np.asarray(probabilities) > 0].sum())
