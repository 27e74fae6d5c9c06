"""How much evidence the decision gathers before it decides: seeds added while a promising
gain is undecided, or cross-validation folds when the data has no row to spare.

- **Seeds, sequentially.** One look (one seed, or ``--repeats`` of them) may leave a large
  gain undecided: the best trial's loss is lower by more than the minimum that counts, but not
  beyond noise. Deciding there would hand the user a plan that may be much worse (a diverging
  run whose fix halves the loss at p = 0.10). Seeds are then added, the baseline and the fix
  trained with each, up to :data:`MAX_SEEDS`, and the test is repeated at each look until it
  decides. Looking again raises the chance of a false adoption, so every later look tests at
  the significance level split across them (Bonferroni): the adaptive part adds at most that
  level to the first look's. The report states the looks, the cap and the level.
- **A divergence, on more than one seed.** A finite loss beats a diverged one (see
  :func:`advisor.fixes.comparison.compare`), but one seed on which the user's plan diverges
  cannot show that the fix is stable, nor that the user's plan diverges on other seeds (a
  six-layer ReLU net at SGD 0.5 goes to NaN on seed 0 and sits at chance on seeds 1-2, where
  batch norm alone is worse): a decision won that way on fewer seeds than the first later look
  takes that look before it counts.
- **Cross-validation on tiny data.** When the script gives few rows and no validation
  (:attr:`advisor.plan.DataSplit.cross_validates`), carving a slice out would take rows the
  task needs (XOR has four and needs them all). Baseline and fix are then trained on every
  fold of a scikit-learn splitter over all the rows (leave-one-out for a handful, repeated
  k-fold above) and scored on the fold's own left-out rows, paired fold by fold. Nothing is
  left untouched, so the verdict is at most ``unconfirmed`` and says so.

A loss that is NaN or infinite loses to any finite one at every look, seed by seed
(:func:`advisor.fixes.comparison.compare`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from sklearn.model_selection import LeaveOneOut, RepeatedKFold

from advisor.arrays import concat_slices, rows, take_slice
from advisor.fixes.comparison import compare
from advisor.outcomes.scores import (
    MIN_RELATIVE_LOSS_CHANGE,
    SIGNIFICANCE,
    Comparison,
    Scores,
    Slice,
)
from advisor.plan import DataSplit, TrainingPlan
from advisor.training.fit import FitRequest, FitRunner, evaluate

# Seeds at each later look of the sequential test; the last is the cap.
SEQUENTIAL_SEEDS = (3, 5)
MAX_SEEDS = SEQUENTIAL_SEEDS[-1]
# Up to this many rows every row is left out once; above, repeated k-fold.
LEAVE_ONE_OUT_ROWS = 12
FOLDS, FOLD_REPEATS = 5, 2
FOLD_SEED = 20_261_202

# ``score(model, plan)``: a trained model's scores on the data the decision uses.
ScoreRun = Callable[[Any, TrainingPlan], Scores]


@dataclass(frozen=True)
class Evidence:
    """What decided, the models trained for it per seed (none for cross-validation, whose
    fold models saw too little data to report on), and how it was gathered."""

    decision: Comparison
    baseline_models: tuple[Any, ...]
    fixed_models: tuple[Any, ...]
    sentence: str = ""


def seeded_evidence(
    plan: TrainingPlan,
    fixed_plan: TrainingPlan,
    first_models: tuple[Any, Any],
    *,
    seed: int,
    seeds: int,
    run_fit: FitRunner,
    score: ScoreRun,
    where: Slice,
) -> Evidence:
    """Baseline against fix over ``seeds`` seeds (``first_models``: both trained with
    ``seed``), then over more seeds while the gain is promising but undecided."""
    models: tuple[list[Any], list[Any]] = ([first_models[0]], [first_models[1]])
    scores: tuple[list[Scores], list[Scores]] = ([], [])

    def look(n_seeds: int, level: float) -> Comparison:
        for extra in range(seed + len(models[0]), seed + n_seeds):
            models[0].append(run_fit(FitRequest(plan, extra, f"baseline, seed {extra}")).model)
            models[1].append(run_fit(FitRequest(fixed_plan, extra, f"fix, seed {extra}")).model)
        for runs, trained, scored in ((scores[0], models[0], plan), (scores[1], models[1],
                                                                      fixed_plan)):
            runs.extend(score(model, scored) for model in trained[len(runs):])
        return compare(scores[0], scores[1], where=where, significance=level)

    decision = look(seeds, SIGNIFICANCE)
    later = [n for n in SEQUENTIAL_SEEDS if n > seeds]
    if not later or not undecided_but_promising(decision):
        return Evidence(decision, tuple(models[0]), tuple(models[1]))
    why = (
        "only a NaN/inf loss of your plan to decide on (a finite loss beats it, but on one "
        "seed that says nothing of the others)"
        if _won_on_too_few_divergences(decision)
        else f"a gain above the {MIN_RELATIVE_LOSS_CHANGE:.0%} minimum within noise"
    )
    level = SIGNIFICANCE / len(later)
    looks = [seeds]
    for n_seeds in later:
        decision = look(n_seeds, level)
        looks.append(n_seeds)
        if not undecided_but_promising(decision):
            break
    sentence = (
        f"sequential test: {_seeds(seeds)} left {why}, so seeds were added (looks at "
        f"{', '.join(map(str, looks))} seeds, at most {MAX_SEEDS}); each later look tests at "
        f"p < {level:.2g}, the {SIGNIFICANCE} level split across them"
    )
    return Evidence(decision, tuple(models[0]), tuple(models[1]), sentence)


def undecided_but_promising(decision: Comparison) -> bool:
    """Lower by more than the minimum that counts, yet within noise, or won only on a
    divergence of the baseline seen on too few seeds: more seeds may decide."""
    loss = decision.loss
    return _won_on_too_few_divergences(decision) or (
        decision.effect == "within-noise"
        and loss.better
        and abs(loss.relative) >= MIN_RELATIVE_LOSS_CHANGE
    )


def _won_on_too_few_divergences(decision: Comparison) -> bool:
    return (
        decision.effect == "improved"
        and not math.isfinite(decision.loss.baseline)
        and decision.repeats < SEQUENTIAL_SEEDS[0]
    )


def cross_validated_evidence(
    plan: TrainingPlan, fixed_plan: TrainingPlan, *, seed: int, run_fit: FitRunner, loss: Any
) -> Evidence:
    """Baseline against fix on every fold of all the script's rows (see the module doc)."""
    data = plan.data
    x, y, w = every_row(data)
    n_rows = rows(y)
    splitter = _splitter(n_rows)
    scores: tuple[list[Scores], list[Scores]] = ([], [])
    for number, (train, test) in enumerate(splitter.split(np.arange(n_rows)), start=1):
        x_train, y_train, w_train = take_slice(x, y, w, train)
        x_test, y_test, w_test = take_slice(x, y, w, test)
        # Keras validates on the fold's left-out rows; no fix that watches them is searched.
        fold = replace(
            data, x_train=x_train, y_train=y_train, w_train=w_train,
            x_val=x_test, y_val=y_test, w_val=w_test,
        )
        for runs, trained, label in ((scores[0], plan, "baseline"), (scores[1], fixed_plan,
                                                                     "fix")):
            fold_plan = replace(trained, data=fold)
            model = run_fit(FitRequest(fold_plan, seed, f"{label}, fold {number}")).model
            runs.append(evaluate(model, fold_plan, x_test, y_test, sample_weight=w_test,
                                 loss=loss))
    decision = compare(scores[0], scores[1], where=Slice.CROSS_VALIDATION)
    scheme = (
        "leave-one-out" if isinstance(splitter, LeaveOneOut)
        else f"{FOLD_REPEATS}x repeated {FOLDS}-fold cross-validation"
    )
    sentence = (
        f"cross-validated: the script gives {n_rows} rows and no validation, so the decision "
        f"is {scheme} over all of them ({len(scores[0])} folds, each trained without the rows "
        "it is scored on) and the model handed out trains on every row; there is no untouched "
        "holdout, so nothing confirms the decision"
    )
    return Evidence(decision, (), (), sentence)


def every_row(data: DataSplit) -> tuple[Any, Any, Any]:
    """Inputs, targets and weights of all the rows cross-validation runs over: training and
    the validation the advisor carved (a data set that cross-validates has nothing else)."""
    return concat_slices(
        [(data.x_train, data.y_train, data.w_train), (data.x_val, data.y_val, data.w_val)]
    )


def _splitter(n_rows: int) -> LeaveOneOut | RepeatedKFold:
    if n_rows <= LEAVE_ONE_OUT_ROWS:
        return LeaveOneOut()
    return RepeatedKFold(n_splits=FOLDS, n_repeats=FOLD_REPEATS, random_state=FOLD_SEED)


def _seeds(n: int) -> str:
    return "one seed" if n == 1 else f"{n} seeds"


def mean_scores(runs: Sequence[Scores]) -> dict[str, float]:
    """Each score's mean over runs (seeds or folds)."""
    names = runs[0].as_dict()
    return {name: float(np.mean([r.as_dict()[name] for r in runs])) for name in names}
