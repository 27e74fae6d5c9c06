"""## What it detects
A validation slice that is not drawn like the training data: its class shares (classification)
or its range of target values (regression) differ from the training slice's by more than a
random split would make them differ. The classic cause is `validation_split` on rows sorted by
class or by target: Keras takes the *last* rows, before any shuffling, so `load_wine` (rows
sorted by cultivar) with `validation_split=0.25` validates on one class only.

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

from collections.abc import Iterator
from typing import TYPE_CHECKING

from advisor.findings import Finding, Severity
from advisor.history import TrainingHistory
from advisor.rule import Rule, RuleContext

if TYPE_CHECKING:  # names only: the targets are measured by diagnose, never by `check`
    from advisor.head_targets import HeadTargets

MAX_P_VALUE = 1e-3
MIN_EFFECT = 0.2
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
    return [
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
            fixes=("shuffle-split",) if split else (),
        )
        for head, shift in _shifts(data.heads)
    ]


RULE = Rule(
    id="validation-shift",
    code="ADV204",
    severity=Severity.WARNING,
    summary="The validation slice's labels or targets are not drawn like training's.",
    doc=__doc__ or "",
    check=check,
    needs_data=True,
    explains=("plateau", "overfitting", "underfitting", "oscillation"),
)
