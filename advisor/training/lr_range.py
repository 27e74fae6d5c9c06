"""Learning-rate range test: where does the user's model learn fastest on the user's data?

A fixed learning-rate fix can only move the rate by a guessed factor, in a guessed direction.
The range test (Smith 2015, "Cyclical Learning Rates for Training Neural Networks",
https://arxiv.org/abs/1506.01186) measures instead: train a *fresh* copy of the model for about
100 mini-batches while the learning rate grows exponentially from ``min_lr`` to ``max_lr``,
record the loss after each batch, and read the rate off the curve. The search later centres its
log-scale learning-rate range on that point, so it can go up as well as down.

The choices follow the two maintained implementations, so that the numbers mean what their
users expect:

- sweep and stop as fastai's ``LRFinder`` and Lightning's ``LearningRateFinder``
  (https://lightning.ai/docs/pytorch/stable/api/lightning.pytorch.callbacks.LearningRateFinder.html):
  ``mode="exponential"``, ``num_training_steps=100``, ``early_stop_threshold=4.0`` (stop when
  the smoothed loss exceeds four times the best one so far, or is not finite);
- the suggestion as Lightning's ``lr_finder.suggestion(skip_begin=10, skip_end=1)`` documents
  it: "the point with the steepest negative gradient" of the smoothed curve, the first ten and
  the last point left out (too naive, too optimistic). On an exponential sweep the gradient per
  step is the gradient against log(lr).

One deliberate difference: both libraries record each step's *training-batch* loss and smooth
it with a bias-corrected moving average at ``beta = 0.98``. On the small tables this advisor
sees, batch-to-batch differences at unchanged weights (0.44 to 1.04 in a test sweep) dwarf what
the rate does, and a 0.98 average lags about 49 of the 100 steps: the steepest point landed on
noise at 1e-6. Here each step is measured on one fixed sample of up to ``EVALUATION_ROWS``
rows (one extra forward pass), which removes the batch part of the noise, and the same
bias-corrected average smooths with ``beta = 0.9`` (a lag of about 9 steps, a factor of about
5 in rate on the default sweep). The loss is Keras' ``loss``, L2 penalty included: the sweep
compares rates for one model, so a penalty shifts every point alike.

Their issue trackers show the traps, handled here: a probe that leaks state into the real run
(the model comes from ``build_model()`` and is dropped afterwards; nothing the caller holds is
trained), and suggestions that jump with noise (the smoothing; and ``inconclusive`` when the
curve never falls, stops within a few steps, or has no descending part, so that a caller falls
back on what the diagnosis says instead of trusting an arbitrary point).

The function needs only a factory of compiled models and the data, not a training plan: it does
not depend on how plans are rebuilt.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from advisor.arrays import Structure, floats_as, rows, take

SMOOTHING_BETA = 0.9
EVALUATION_ROWS = 512
EARLY_STOP_THRESHOLD = 4.0
SKIP_BEGIN = 10
SKIP_END = 1
# A curve whose best smoothed loss is not this much below its first is flat: no rate in the
# sweep made the model learn, so the steepest point of it would be noise.
MIN_RELATIVE_DROP = 0.05


@dataclass(frozen=True)
class LrSuggestion:
    """What the sweep measured and the rates read off it.

    ``suggested`` is the steepest descent of the smoothed curve (Lightning's choice);
    ``min_loss_lr`` the rate at the lowest smoothed loss, an upper bound a search should stay
    below. ``learning_rates``, ``losses`` (smoothed) and ``raw_losses`` are the curve, one entry
    per mini-batch trained, up to the early stop. ``inconclusive`` says that the curve does not
    support a suggestion, ``reason`` why; ``suggested`` is then still the steepest point, for
    display only.
    """

    suggested: float
    min_loss_lr: float
    learning_rates: tuple[float, ...]
    losses: tuple[float, ...]
    raw_losses: tuple[float, ...]
    inconclusive: bool
    reason: str = ""


def lr_range_test(
    build_model: Callable[[], keras.Model],
    x: Structure,
    y: Structure,
    *,
    batch_size: int,
    seed: int,
    min_lr: float = 1e-7,
    max_lr: float = 10.0,
    steps: int = 100,
) -> LrSuggestion:
    """Sweep the learning rate of a fresh, compiled ``build_model()`` over ``steps`` batches.

    The model's own optimizer (with its momentum, its clipping) runs the sweep, only its
    learning rate is set before each batch; the mini-batches are drawn from ``(x, y)`` in a
    ``seed``-shuffled order, reshuffled after each pass. The seed also fixes the model's initial
    weights, so the same call gives the same curve. The model is discarded afterwards.
    """
    if not 0.0 < min_lr < max_lr:
        raise ValueError(f"lr_range_test needs 0 < min_lr < max_lr. Received {min_lr=}, {max_lr=}")
    if steps < SKIP_BEGIN + SKIP_END + 2:
        raise ValueError(
            f"lr_range_test needs steps >= {SKIP_BEGIN + SKIP_END + 2}. Received {steps=}"
        )
    keras.utils.set_random_seed(seed)
    model = build_model()
    if getattr(model, "optimizer", None) is None:
        raise ValueError("lr_range_test needs build_model() to return a compiled model")
    x, y = floats_as(x, keras.backend.floatx()), floats_as(y, keras.backend.floatx())
    rates = min_lr * (max_lr / min_lr) ** (np.arange(steps) / (steps - 1))
    rng = np.random.default_rng(seed)
    batches = _batch_indices(rows(x), batch_size, steps, rng)
    fixed = rng.permutation(rows(x))[:EVALUATION_ROWS]
    x_fixed, y_fixed = take(x, fixed), take(y, fixed)
    raw: list[float] = []
    smoothed: list[float] = []
    average = 0.0
    train, measure = _steps(model)
    for step, (rate, index) in enumerate(zip(rates, batches, strict=True)):
        _set_learning_rate(model.optimizer, float(rate))
        train(take(x, index), take(y, index))
        loss = measure(x_fixed, y_fixed)
        raw.append(loss)
        average = SMOOTHING_BETA * average + (1 - SMOOTHING_BETA) * loss
        smoothed.append(average / (1 - SMOOTHING_BETA ** (step + 1)))
        if not math.isfinite(smoothed[-1]) or smoothed[-1] > EARLY_STOP_THRESHOLD * min(smoothed):
            break
    return _read_curve(tuple(float(r) for r in rates[: len(raw)]), tuple(smoothed), tuple(raw))


def _steps(
    model: keras.Model,
) -> tuple[Callable[[Structure, Structure], Any], Callable[[Structure, Structure], float]]:
    """Train on one batch, and Keras' ``loss`` on the fixed sample, for ``model``.

    ``train_on_batch`` and ``test_on_batch`` hand a step ``(x, y, None)``, where ``fit`` and
    ``evaluate`` hand ``(x, y)`` when there are no sample weights; a model that overrides
    ``train_step`` or ``test_step`` with ``x, y = data`` (the Keras guide's own pattern) breaks
    on the first. Such a model is swept with one-batch ``fit`` and ``evaluate`` calls (slower,
    they reuse the traced step), so it sees its data as in training."""
    custom = any(
        getattr(type(model), name) is not getattr(keras.Model, name)
        for name in ("train_step", "test_step")
    )
    if not custom:
        return model.train_on_batch, lambda x, y: float(
            model.test_on_batch(x, y, return_dict=True)["loss"]
        )

    def train(x: Structure, y: Structure) -> Any:
        return model.fit(x, y, batch_size=rows(y), epochs=1, shuffle=False, verbose=0)

    def measure(x: Structure, y: Structure) -> float:
        return float(model.evaluate(x, y, batch_size=rows(y), verbose=0, return_dict=True)["loss"])

    return train, measure


def _batch_indices(
    n_rows: int, batch_size: int, steps: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """``steps`` mini-batches of row indices: shuffled passes over the data, as ``fit`` makes."""
    if n_rows < 1 or batch_size < 1:
        raise ValueError(f"lr_range_test needs data and batch_size >= 1. Received {batch_size=}")
    batches: list[np.ndarray] = []
    while len(batches) < steps:
        order = rng.permutation(n_rows)
        batches.extend(order[i : i + batch_size] for i in range(0, n_rows, batch_size))
    return batches[:steps]


def _set_learning_rate(optimizer: Any, rate: float) -> None:
    try:
        optimizer.learning_rate = rate
    except TypeError as error:  # a LearningRateSchedule cannot be set
        raise ValueError(
            "lr_range_test needs an optimizer with a constant learning rate, not a schedule"
        ) from error


def _read_curve(
    rates: tuple[float, ...], losses: tuple[float, ...], raw: tuple[float, ...]
) -> LrSuggestion:
    finite = np.isfinite(losses)
    if not finite.any():
        return LrSuggestion(rates[0], rates[0], rates, losses, raw, True, "no finite loss")
    best = int(np.nanargmin(np.where(finite, losses, np.nan)))
    window = np.arange(SKIP_BEGIN, len(losses) - SKIP_END)
    window = window[finite[window]]
    if len(window) < 2:
        reason = f"the loss ran away after {len(losses)} of the sweep's steps"
        return LrSuggestion(rates[best], rates[best], rates, losses, raw, True, reason)
    slopes = np.gradient(np.asarray(losses)[window])
    steepest = int(window[np.argmin(slopes)])
    reason = ""
    if slopes.min() >= 0:
        reason = "the smoothed loss never falls after the first steps"
    elif losses[best] > (1 - MIN_RELATIVE_DROP) * losses[0]:
        reason = f"the smoothed loss falls by less than {MIN_RELATIVE_DROP:.0%} at any rate"
    return LrSuggestion(rates[steepest], rates[best], rates, losses, raw, bool(reason), reason)
