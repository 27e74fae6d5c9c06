"""## What it detects
Training that is not learning at all: the loss sits flat at the loss of a constant prediction
(chance level: predicting the class frequencies, or the mean target in a regression), or has
barely moved from its first epoch.

## Why it matters
Nothing the model does is better than guessing, and more epochs will not change that: the
gradient no longer reaches the weights. Typical causes are a learning rate so high that the
first steps killed the ReLUs or saturated the outputs, inputs on wild scales that saturate
sigmoid/tanh units, or deep saturating stacks where the gradient vanishes.

## Evidence
The training `loss` must be *flat* over the second half of the run: its range there is at most
2 % of its mean (`MAX_FLAT_RANGE`). Then either:
- *not moving*: the best loss is less than 5 % (`MAX_GAIN_NOT_MOVING`) below the first; or
- *chance level*: the last loss is within 5 % (`CHANCE_TOLERANCE`) of the loss of the best
  constant prediction, or above it when the advisor measured that loss on the targets (flat
  and worse than guessing: dead ReLUs leave a regression at a constant bias, not the mean).
  When the advisor saw the targets (`advisor diagnose`, `advise`) that loss is measured on
  them: the entropy of the class frequencies for cross-entropy (below ln k
  when the classes are imbalanced), the targets' variance for MSE (predicting the mean).
  Otherwise (`advisor check`) it is ln k, what predicting balanced classes costs: k is
  `--classes` when given, else the class count in 2..10 (`MAX_GUESSED_CLASSES`) whose ln k is
  nearest, and the run must also log an accuracy metric that is at most 1.6 / k
  (`CHANCE_ACCURACY_FACTOR`): a flat loss near some ln k is not evidence on its own (a
  regression MSE can sit at 0.69), an accuracy near guessing is.
When the advisor saw the targets, a run that is not flat is stalled too when its training
`loss` never came below that constant prediction's: every epoch at or above it, less 5 %
(`CHANCE_TOLERANCE`), over at least 4 epochs, while its second half gained less than 10 %
(`MAX_TAIL_GAIN`). A loss that bounces about without ever beating a guess (an LSTM under
RMSprop at a learning rate of 0.5) has learnt nothing either; a loss that falls below chance,
or is still falling fast towards it from a high start (raw inputs), is learning.
A run this rule calls stalled has no trend for the overfitting, plateau and underfitting rules
to read: their findings are dropped (`supersedes`). Runs that diverged are left to the
divergence rule, which supersedes this one. A net that never learnt predicts the class prior,
so a majority-class finding beside this one is its consequence (`explains`): it is listed
after it and counts as dealt with when a fix for the stall is adopted.

## Fix
The fixes are ordered by the evidence. When the loss was at some point far above where it
ended (at least 2x, `OVERSHOOT_FACTOR`: the first steps overshot), `lower-lr` comes first:
divide the learning rate by 10. Otherwise `standardize` comes first: scale the inputs to zero
mean and unit variance (a `Normalization` layer adapted on the training data), which brings
saturated units back into their responsive range. Where hidden layers use sigmoid or tanh,
`relu-he` (ReLU with He initialisation) and `batch-norm` are tried with them: a deep
saturating stack stalls because its gradient vanishes, which neither input scaling nor a
smaller step cures. The learning rate is searched below yours after an overshoot; above yours
when the probe saw steps too small for gradients that are there (no layer's weights moving
2 % per epoch, `MAX_TINY_UPDATE`, while some layer's gradient is at least 5 % of its weights,
`MIN_ALIVE_GRADIENT`: SGD too slow to move); on both sides otherwise, centred by a
learning-rate range test. `less-regularisation` weakens your own Dropout and kernel
penalties, tried first when a Dropout rate is 0.5 or more (`HEAVY_DROPOUT`: a Dropout(0.85)
net stalls at chance).

**Fix safety:** both are safe to try on a run that learns nothing: it cannot get worse than
chance. The advisor retrains with each and keeps only what measurably helps.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from advisor.findings import Finding, Severity
from advisor.fix import Direction
from advisor.history import TrainingHistory
from advisor.metric_names import mode_of
from advisor.rule import Rule, RuleContext
from rules import _probe, _regularisation, _series

# Calibrated on fixtures/histories/corpus and a re-recording of it with other seeds. Stalled runs
# vary by at most 1.2 % over their second half; plateau runs are that flat too, which is why
# flatness alone never fires.
MAX_FLAT_RANGE = 0.02
# Stalled runs that "move" gain at most 4.6 % from their first epoch (unless at chance level);
# every run that is not stalled gains at least 12 %.
MAX_GAIN_NOT_MOVING = 0.05
# A class-imbalanced "predict the prior" loss sits below ln k (breast cancer: 0.66 vs 0.69).
CHANCE_TOLERANCE = 0.05
# ln k values crowd together as k grows: beyond 10 a match says nothing.
MAX_GUESSED_CLASSES = 10
# Stalled runs log an accuracy of at most 1.47 / k (the majority class of imbalanced data). The
# one flat learning run with a lower one (a 3-class linear plateau, 1.37 / 2 with k guessed as
# 2) sits 8.7 % from ln 2, outside CHANCE_TOLERANCE: it takes both to call chance level.
CHANCE_ACCURACY_FACTOR = 1.6
OVERSHOOT_FACTOR = 2.0
# A loss above chance that still fell this much over the second half is learning from a high
# start (raw wine features: 90 -> 1.2 in 30 epochs, 16.5 -> 1.2 over the second half), not
# stalled; the LSTM under RMSprop 0.5 that never learns gains 5 % there.
MAX_TAIL_GAIN = 0.10


def _constant_prediction(context: RuleContext) -> tuple[float, str] | None:
    """The loss of the best constant prediction on the targets the advisor measured and what
    that prediction is; None when the targets were not seen (``advisor check``)."""
    model = context.model
    if model is None or model.constant_loss is None:
        return None
    what = "one constant value" if model.loss_kind == "regression" else "the class frequencies"
    return model.constant_loss, f"predicting {what} for every input"


def _measured_chance(loss: float, context: RuleContext) -> tuple[bool, float, str] | None:
    """Whether ``loss`` is what a constant prediction costs on the targets the advisor measured,
    that cost and how to say it; None when the targets were not seen."""
    constant = _constant_prediction(context)
    if constant is None:
        return None
    reference, what = constant
    if reference > 0 and loss > (1 + CHANCE_TOLERANCE) * reference:  # flat, worse than guessing
        return True, reference, f"above the loss of {what} ({reference:.4g})"
    reason = f"at the loss of {what} ({reference:.4g})"
    return abs(loss - reference) <= CHANCE_TOLERANCE * reference, reference, reason


def _never_below_chance(
    loss: Sequence[float], tail: Sequence[float], context: RuleContext
) -> dict[str, object] | None:
    """Why a loss that is not flat counts as stalled: no epoch beat a constant prediction on
    the measured targets, and its second half ``tail`` did not get on either. None when an
    epoch beat it, the second half still fell, or the targets were not seen."""
    constant = _constant_prediction(context)
    if constant is None:
        return None
    reference, what = constant
    best = min(loss)
    if not reference > 0 or best < (1 - CHANCE_TOLERANCE) * reference:
        return None
    if _series.relative_drop(tail[0], min(tail)) >= MAX_TAIL_GAIN:
        return None
    return {
        "flat_since_epoch": None,
        "chance_loss": reference,
        "reason": f"no better than the loss of {what} ({reference:.4g})",
    }


def _nearest_chance(loss: float, n_classes: int | None) -> tuple[int, float]:
    """The class count whose chance-level loss ln k is nearest ``loss``, and that ln k."""
    candidates = [n_classes] if n_classes else range(2, MAX_GUESSED_CLASSES + 1)
    k = min(candidates, key=lambda c: abs(math.log(c) - loss))
    return k, math.log(k)


def _accuracy(history: TrainingHistory) -> tuple[str, float] | None:
    """The last training value of an accuracy-type metric, if the run logged one."""
    for name in history.metric_names:
        if "acc" in name and mode_of(name) == "max":
            return name, history.series[name].values[-1]
    return None


def measure(history: TrainingHistory, context: RuleContext) -> dict[str, object] | None:
    """Why the run counts as stalled, or None when it is learning (or cannot be judged)."""
    pair = _series.loss_pair(history)
    if pair is None or len(pair[0]) < 4:
        return None
    loss = pair[0].values
    half = len(loss) // 2
    tail = loss[half:]
    mean = sum(tail) / len(tail)
    last = loss[-1]
    accuracy = _accuracy(history)
    gain = _series.relative_drop(loss[0], min(loss))
    common: dict[str, object] = {
        "loss_first": loss[0],
        "loss_last": last,
        "loss_peak": max(loss),
        "loss_best": min(loss),
        "epochs": len(loss),
        "gain_from_first": gain,
        "accuracy": accuracy[1] if accuracy else None,
        "overshot": max(loss) >= OVERSHOOT_FACTOR * last,
        "n_classes": context.n_classes,
    }
    if mean <= 0 or (max(tail) - min(tail)) / mean > MAX_FLAT_RANGE:
        bouncing = _never_below_chance(loss, tail, context)
        return None if bouncing is None else {**common, **bouncing}
    k, chance = _nearest_chance(last, context.n_classes)
    at_chance = abs(last - chance) <= CHANCE_TOLERANCE * chance and (
        context.n_classes is not None
        or (accuracy is not None and accuracy[1] <= CHANCE_ACCURACY_FACTOR / k)
    )
    reason = f"at chance level (ln {k} = {chance:.4g} for {k} classes)"
    measured = _measured_chance(last, context)
    if measured is not None:
        at_chance, chance, reason = measured
    if not at_chance:
        if gain >= MAX_GAIN_NOT_MOVING:
            return None
        reason = f"only {gain:.1%} below the first epoch's {loss[0]:.4g}"
    flat_since = pair[0].epochs[half]
    return {
        **common,
        "flat_since_epoch": flat_since,
        "n_classes": k if at_chance and measured is None else context.n_classes,
        "chance_loss": chance if at_chance else None,
        "reason": reason,
    }


def _course(evidence: Mapping[str, object]) -> str:
    """How the loss went: flat since an epoch, or never below the constant prediction's."""
    last = evidence["loss_last"]
    if evidence["flat_since_epoch"] is None:
        return (
            f"loss never went below {evidence['loss_best']:.4g} in {evidence['epochs']} epochs, "
            f"ending at {last:.4g}"
        )
    return f"loss has stayed flat since epoch {evidence['flat_since_epoch']}, ending at {last:.4g}"


def check(history: TrainingHistory, context: RuleContext) -> list[Finding]:
    evidence = measure(history, context)
    if evidence is None:
        return []
    tiny = None if evidence["overshot"] else _probe.tiny_updates(context.probe)
    # Overshooting first steps say the rate is too high; steps too small for live gradients
    # say it is too low; a flat start with neither says nothing about which way it is off, so
    # the search covers both sides then.
    directions: Mapping[str, Direction] = {}
    first = ("lower-lr", "standardize")
    if evidence["overshot"]:
        directions = {"lower-lr": "down"}
    elif tiny is not None:
        directions = {"lower-lr": "up"}
    else:
        first = ("standardize", "lower-lr")
    fixes = _regularisation.with_less_regularisation((*first, "relu-he", "batch-norm"), context)
    steps = _probe.too_small_steps(tiny)
    return [
        RULE.finding(
            f"{_course(evidence)}, {evidence['reason']}: the model is not learning{steps}",
            evidence={"monitor": "loss", "mode": "min", **evidence, **(tiny or {})},
            fixes=fixes,
            directions=directions,
        )
    ]


RULE = Rule(
    id="stalled",
    code="ADV105",
    severity=Severity.WARNING,
    summary="Loss stuck at chance level or not moving from the start.",
    doc=__doc__ or "",
    check=check,
    supersedes=("overfitting", "plateau", "underfitting"),
    explains=("majority-class",),
)
