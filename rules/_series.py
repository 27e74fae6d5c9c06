"""Series maths shared by the history rules, so that every rule measures a curve the same way.

The rules judge real Keras curves, which are noisy (small validation sets, mini-batch averages),
may be logged only every few epochs (``validation_freq``) and may hold NaN/inf. Everything here
is plain Python on tuples of floats and scale-free (ratios, shares of the total gain, counts),
so that one threshold serves a cross-entropy near 0.05 and an MSE near 5000 alike. The curve
helpers assume *lower is better*, as for every loss; :func:`advisor.metric_names.mode_of`
tells a metric's Keras ``mode`` from its name for the rules that read metrics too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise

from advisor.findings import Finding
from advisor.history import VALIDATION_PREFIX, Series, TrainingHistory

HEAD_LOSS_SUFFIX = "_loss"
# Fewer per-output losses than this are not heads: one custom ``*_loss`` metric is a metric.
MIN_HEADS = 2


def loss_pair(history: TrainingHistory, name: str = "loss") -> tuple[Series, Series] | None:
    """``name`` and ``val_<name>`` when both exist, are finite and hold at least two values."""
    train, val = history.get(name), history.get(VALIDATION_PREFIX + name)
    if train is None or val is None or len(train) < 2 or len(val) < 2:
        return None
    if not (train.all_finite and val.all_finite):
        return None
    return train, val


@dataclass(frozen=True)
class LossCurves:
    """The training and validation loss of the whole model (``head`` None) or of one output
    head of a multi-output model, which Keras logs as ``<head>_loss`` / ``val_<head>_loss``."""

    head: str | None
    train: Series
    val: Series

    @property
    def train_name(self) -> str:
        return "loss" if self.head is None else self.head + HEAD_LOSS_SUFFIX

    @property
    def val_name(self) -> str:
        return VALIDATION_PREFIX + self.train_name

    @property
    def label(self) -> str:
        """How a message names the head: ``head 'price': ``, or nothing for the whole model."""
        return "" if self.head is None else f"head '{self.head}': "

    @property
    def evidence(self) -> dict[str, str]:
        """``{"head": name}`` for a head, nothing for the whole model (stable single-output
        evidence)."""
        return {} if self.head is None else {"head": self.head}


def head_names(history: TrainingHistory) -> tuple[str, ...]:
    """The output heads whose losses the history logs, in its order (none for one output)."""
    heads = tuple(
        name[: -len(HEAD_LOSS_SUFFIX)]
        for name in history.metric_names
        if name.endswith(HEAD_LOSS_SUFFIX)
        and name != "loss"
        and VALIDATION_PREFIX + name in history.series
    )
    return heads if len(heads) >= MIN_HEADS else ()


def loss_curves(history: TrainingHistory) -> Iterator[LossCurves]:
    """The whole model's loss curves, then each head's, where they can be judged."""
    for head in (None, *head_names(history)):
        pair = loss_pair(history, "loss" if head is None else head + HEAD_LOSS_SUFFIX)
        if pair is not None:
            yield LossCurves(head, *pair)


def per_head(
    judge: Callable[[LossCurves], Finding | None], history: TrainingHistory
) -> list[Finding]:
    """``judge``'s findings on the whole model's curves and on each head's: a multi-output
    model is judged head by head, so a head that overfits while the others learn is named."""
    judged = (judge(curves) for curves in loss_curves(history))
    return [finding for finding in judged if finding is not None]


def smooth(values: Sequence[float], window: int) -> tuple[float, ...]:
    """Centred moving average; the window shrinks at the ends instead of inventing values."""
    half = max(window, 1) // 2
    n = len(values)
    out = []
    for i in range(n):
        chunk = values[max(0, i - half) : min(n, i + half + 1)]
        out.append(sum(chunk) / len(chunk))
    return tuple(out)


def window_for(n_points: int) -> int:
    """Smoothing window for a series of ``n_points``: about a tenth of it, odd, from 1 to 5."""
    return min(5, max(1, n_points // 10)) | 1


def argmin(values: Sequence[float]) -> int:
    """Index of the first smallest value."""
    return min(range(len(values)), key=values.__getitem__)


def value_at(series: Series, epoch: int) -> float:
    """The value logged at ``epoch``, or the last one logged before it (first if none)."""
    index = 0
    for i, logged in enumerate(series.epochs):
        if logged <= epoch:
            index = i
    return series.values[index]


def relative_drop(before: float, after: float) -> float:
    """How much lower ``after`` is than ``before``, as a fraction of ``before``'s size."""
    if before == 0:
        return 0.0 if after == 0 else -math.inf
    return (before - after) / abs(before)


def count_swings(
    values: Sequence[float], min_step: float, min_share_of_range: float, min_small_step: float
) -> int:
    """Sign changes of the first difference: a curve going up, down, up ... counts each reversal.

    Only steps that matter count: at least ``min_step`` of the value they start from; or at
    least ``min_share_of_range`` of the range the curve spans after its first epoch *and* at
    least ``min_small_step`` of the value (a loss bouncing between 2.1 and 2.4 counts; the
    wobble of a converged curve does not, even when it is all the range there is).
    """
    tail = values[1:]
    span = max(tail) - min(tail) if tail else 0.0
    signs = []
    for a, b in pairwise(values):
        step, size = abs(b - a), abs(a)
        if step >= min_step * size or (
            step >= min_share_of_range * span and step >= min_small_step * size
        ):
            signs.append(1 if b > a else -1)
    return sum(1 for s, t in pairwise(signs) if s != t)


def tail_start(epochs: Sequence[int], n_epochs: int, fraction: float, minimum: int) -> int:
    """Index of the first value in the last ``fraction`` of the run (at least ``minimum``
    epochs long), on the series' own epoch axis so sparse validation lines up with training."""
    span = max(minimum, math.ceil(fraction * n_epochs))
    first_epoch = n_epochs - span + 1
    for i, epoch in enumerate(epochs):
        if epoch >= first_epoch:
            return i
    return len(epochs) - 1


def start_of_stall(values: Sequence[float], min_delta: float) -> int:
    """Index from which the curve never again gained more than ``min_delta`` (relative to its
    best so far): the earliest ``i`` with ``min(values[i:])`` above ``best_before_i * (1 -
    min_delta)``. Unlike Keras' step-by-step count, a slow creep that adds up to ``min_delta``
    only over a hundred epochs still counts as stalled.
    """
    suffix_min = list(values)
    for i in range(len(values) - 2, -1, -1):
        suffix_min[i] = min(values[i], suffix_min[i + 1])
    best = math.inf
    for i, value in enumerate(values):
        best = min(best, value)
        if best - suffix_min[i] <= min_delta * abs(best):
            return i
    return len(values) - 1


def share_of_gain_in_tail(values: Sequence[float], start: int) -> float:
    """Fraction of the whole run's improvement (first value to last) made from ``start`` on.

    Scale-free: a curve that has converged made almost all of its gain early (share near 0); a
    curve cut off while still falling straight makes about its tail's share of the epochs.
    """
    total = values[0] - values[-1]
    if total <= 0:
        return 0.0
    return (values[start] - values[-1]) / total
