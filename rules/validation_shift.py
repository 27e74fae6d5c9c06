"""## What it detects
A validation slice that is not drawn like the training data: its class shares (classification)
or its range of target values (regression) differ from the training slice's by more than a
random split would make them differ. The classic cause is `validation_split` on rows sorted by
class or by target: Keras takes the *last* rows, before any shuffling, so `load_wine` (rows
sorted by cultivar) with `validation_split=0.25` validates on one class only.

It also detects validation *inputs* on another scale than the training inputs: the script
scaled its training pixels by 1/16 or 1/255, or standardised its table, and passed
`validation_data` that never went through the same step (a frequent bug in published
programs: the test data usually shares it).

## Why it matters
Every number read from validation (`val_loss`, early stopping, the learning-rate schedule, the
choice between models) then measures a different problem from the one trained on. The model
can look hopeless (a class it never saw in training) or perfect (a class that is easy), and
neither says how it does on new data. The curve rules that read `val_loss` (plateau,
overfitting, underfitting, oscillation) then describe that other problem: this finding
`explains` theirs, which are listed after it as its consequence.

## Evidence
The training and validation targets of each output head. For class labels a chi-square test of
homogeneity on the class counts (`scipy.stats.chi2_contingency`) and, as effect size, the total
variation distance between the two slices' class shares; for regression targets a two-sample
Kolmogorov-Smirnov test (`scipy.stats.ks_2samp`) and its statistic D. The rule fires when the
p-value is below 1e-3 (`MAX_P_VALUE`, divided by the number of heads tested) *and* the effect
is at least 0.2 (`MIN_EFFECT`): a random 25 % split of `load_wine` has a distance of about 0.05,
the sorted one 0.98. Large datasets make tiny differences significant; the effect size keeps
those quiet. Validation the advisor made itself (at random) is not judged.

For the inputs, over the features training does not hold constant, the medians of two
measures: each feature's standard deviation in validation over that in training, and the
distance of its validation mean from its training mean, in training standard deviations. The
rule fires when the spread ratio is at least 4 (`MIN_SPREAD_RATIO`) or at most 1/4, or the
means lie at least 3 standard deviations apart (`MIN_MEAN_SHIFT`), over at least 5
validation samples (`MIN_VALIDATION_SAMPLES`): unscaled digit pixels
against training's `x / 16` spread 16 times wider; standardised wine validation against raw
training sits 7 deviations off; a random split measures about 1 and 0.1, and a median stays
there even when a few sparse features happen to differ.

## Fix
`shuffle-split`: shuffle the rows once (a fixed seed) before `fit`, or split with
`sklearn.model_selection.train_test_split(..., stratify=y)` and pass `validation_data`, so the
validation slice is drawn like the training data. When the script passes its own
`validation_data`, no fix is applied: the advisor cannot know how that set was meant to be
drawn, and the finding says where the two differ.

**Fix safety:** shuffling before the split changes which rows are validated on, not the model;
validation numbers before and after are not comparable, which is the point.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from typing import TYPE_CHECKING

from advisor.findings import Finding, Severity
from advisor.history import TrainingHistory
from advisor.rule import DataProfile, Rule, RuleContext

if TYPE_CHECKING:  # names only: the targets are measured by diagnose, never by `check`
    from advisor.head_targets import HeadTargets

MAX_P_VALUE = 1e-3
MIN_EFFECT = 0.2
# Validation inputs spread this many times wider (or narrower) than training's, or centred
# this many training standard deviations away, were not preprocessed alike.
MIN_SPREAD_RATIO = 4.0
MIN_MEAN_SHIFT = 3.0
# Fewer validation samples than this say nothing about their spread.
MIN_VALIDATION_SAMPLES = 5
# A share this small of either slice is not named as over- or under-represented.
MIN_SHARE_NAMED = 0.05


def _label_shift(head: HeadTargets) -> dict[str, object] | None:
    """Chi-square test and total variation distance of the class shares, or None when there
    is nothing to compare (one class in all)."""
    present = [
        c for c, (a, b) in enumerate(zip(head.train_counts, head.val_counts, strict=True)) if a + b
    ]
    if len(present) < 2:
        return None
    train = [head.train_counts[c] for c in present]
    val = [head.val_counts[c] for c in present]
    from scipy import stats  # needs data, so never on `advisor check`'s path: loaded here

    p_value = float(stats.chi2_contingency([train, val]).pvalue)
    train_shares = [n / sum(train) for n in train]
    val_shares = [n / sum(val) for n in val]
    distance = sum(abs(a - b) for a, b in zip(train_shares, val_shares, strict=True)) / 2
    return {
        "test": "chi-square",
        "p_value": p_value,
        "effect": distance,
        "train_shares": dict(zip(map(str, present), train_shares, strict=True)),
        "val_shares": dict(zip(map(str, present), val_shares, strict=True)),
    }


def _range_shift(head: HeadTargets) -> dict[str, object] | None:
    """Two-sample Kolmogorov-Smirnov test of the target values."""
    if len(head.train_values) < 2 or len(head.val_values) < 2:
        return None
    from scipy import stats

    result = stats.ks_2samp(head.train_values, head.val_values)
    return {
        "test": "kolmogorov-smirnov",
        "p_value": float(result.pvalue),
        "effect": float(result.statistic),
        "train_range": [head.train_values[0], head.train_values[-1]],
        "val_range": [head.val_values[0], head.val_values[-1]],
    }


def _describe(shift: dict[str, object]) -> str:
    if shift["test"] == "chi-square":
        val_shares = shift["val_shares"]
        train_shares = shift["train_shares"]
        assert isinstance(val_shares, dict) and isinstance(train_shares, dict)
        parts = [
            f"class {c} {train_shares[c]:.0%} of training, {val_shares[c]:.0%} of validation"
            for c in train_shares
            if max(train_shares[c], val_shares[c]) >= MIN_SHARE_NAMED
        ]
        return "class shares differ (" + "; ".join(parts) + ")"
    train_range, val_range = shift["train_range"], shift["val_range"]
    assert isinstance(train_range, list) and isinstance(val_range, list)
    return (
        f"target values differ (training {train_range[0]:.4g}..{train_range[1]:.4g}, "
        f"validation {val_range[0]:.4g}..{val_range[1]:.4g}, KS D = {shift['effect']:.2f})"
    )


def _shifts(heads: tuple[HeadTargets, ...]) -> Iterator[tuple[HeadTargets, dict[str, object]]]:
    tested = [head for head in heads if head.n_val > 0]
    for head in tested:
        shift = _label_shift(head) if head.is_labels else _range_shift(head)
        if shift is None:
            continue
        p_value, effect = shift["p_value"], shift["effect"]
        assert isinstance(p_value, float) and isinstance(effect, float)
        if p_value < MAX_P_VALUE / len(tested) and effect >= MIN_EFFECT:
            yield head, shift


def input_shift(data: DataProfile) -> dict[str, float] | None:
    """Over the features training does not hold constant: the median of validation's standard
    deviation over training's (``spread_ratio``) and the median distance of validation's mean
    from training's, in training standard deviations (``mean_shift``); None when nothing can
    be compared."""
    if data.val_samples < MIN_VALIDATION_SAMPLES or len(data.val_means) != len(data.means):
        return None
    pairs = [
        (val_std / std, abs(val_mean - mean) / std)
        for mean, std, val_mean, val_std in zip(
            data.means, data.stds, data.val_means, data.val_stds, strict=True
        )
        if std > 0
    ]
    if not pairs:
        return None
    spreads, shifts = zip(*pairs, strict=True)
    return {
        "spread_ratio": statistics.median(spreads),
        "mean_shift": statistics.median(shifts),
        "n_features": len(pairs),
    }


def _describe_inputs(shift: dict[str, float]) -> str | None:
    """What makes the validation inputs unlike training's, None when nothing does."""
    spread, moved = shift["spread_ratio"], shift["mean_shift"]
    n_features = f"median over {shift['n_features']:.0f} features"
    if spread >= MIN_SPREAD_RATIO or spread <= 1 / MIN_SPREAD_RATIO:
        size = f"{spread:.3g} times" if spread >= 1 else (
            f"1/{1 / spread:.3g} of" if spread > 0 else "none of"
        )
        return f"their spread is {size} training's ({n_features})"
    if moved >= MIN_MEAN_SHIFT:
        deviations = f"{moved:.3g} training standard deviations"
        return f"their means lie {deviations} from training's ({n_features})"
    return None


def _input_shift(data: DataProfile, cause: str, fixes: tuple[str, ...]) -> list[Finding]:
    shift = input_shift(data)
    described = None if shift is None else _describe_inputs(shift)
    if shift is None or described is None:
        return []
    return [
        RULE.finding(
            f"the validation inputs are not on the training inputs' scale: {described}; {cause}",
            evidence={"validation_source": data.validation_source, **shift},
            fixes=fixes,
        )
    ]


def check(history: TrainingHistory, context: RuleContext) -> list[Finding]:
    data = context.data
    if data is None or data.validation_source is None:
        return []
    split = data.validation_source == "validation_split"
    cause = (
        "validation_split takes the last rows unshuffled: are the rows sorted?"
        if split
        else "the validation_data is not drawn like the training data"
    )
    fixes = ("shuffle-split",) if split else ()
    input_cause = (
        cause
        if split
        else "was the validation_data scaled as the training data was, or drawn from another "
        "range (a later period of a trending series)?"
    )
    return _input_shift(data, input_cause, fixes) + [
        RULE.finding(
            f"{head.label}the validation slice is not representative: {_describe(shift)}, "
            f"p = {shift['p_value']:.2g}; {cause}",
            evidence={
                **({} if head.name is None else {"head": head.name}),
                "validation_source": data.validation_source,
                "n_train": head.n_train,
                "n_val": head.n_val,
                **shift,
            },
            fixes=fixes,
        )
        for head, shift in _shifts(data.heads)
    ]


RULE = Rule(
    id="validation-shift",
    code="ADV204",
    severity=Severity.WARNING,
    summary="The validation slice's labels, targets or input scale are not like training's.",
    doc=__doc__ or "",
    check=check,
    needs_data=True,
    explains=("plateau", "overfitting", "underfitting", "oscillation"),
)
