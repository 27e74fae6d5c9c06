"""## What it detects
NaN or infinite values in the training inputs or targets.

## Why it matters
Keras does not stop on them. A NaN input makes that sample's prediction NaN, and several
built-in losses clip their arguments, so the reported loss can stay finite while the NaN
samples teach the model nothing (or push NaN into the weights a few epochs later). The loss
curve alone can look healthy; only the data shows the problem. When the loss does go to NaN,
the non-finite data explains the divergence: this finding comes first and `impute` is tried
before the divergence's learning-rate and scaling fixes, which join only as extras (a search
budget of one run would otherwise spend it all on a lower learning rate that cannot help).

## Evidence
The number of non-finite entries per input feature and in the targets, counted on the
training arrays the script passed to `fit` (before any advisor split).

## Fix
`impute`: put an imputation layer in front of the model that replaces each non-finite input
by that feature's training mean (computed with scikit-learn's `SimpleImputer`), so the fixed
model accepts the same raw inputs. Non-finite *targets* cannot be imputed: drop those rows.

**Fix safety:** mean imputation hides why values are missing; if missingness carries signal,
add an indicator feature yourself. The advisor retrains and compares.
"""

from __future__ import annotations

from advisor.findings import Finding, Severity
from advisor.history import TrainingHistory
from advisor.rule import Rule, RuleContext


def check(history: TrainingHistory, context: RuleContext) -> list[Finding]:
    data = context.data
    if data is None:
        return []
    per_feature = {
        name: count
        for name, count in zip(data.feature_names, data.nonfinite_per_feature, strict=True)
        if count
    }
    findings: list[Finding] = []
    if per_feature:
        total = sum(per_feature.values())
        shown = ", ".join(f"{name}: {count}" for name, count in list(per_feature.items())[:5])
        more = "" if len(per_feature) <= 5 else f" and {len(per_feature) - 5} more features"
        findings.append(
            RULE.finding(
                f"{total} NaN/inf input values in {len(per_feature)} feature(s) ({shown}{more}) "
                f"of {data.n_samples} training samples",
                evidence={
                    "nonfinite_inputs": total,
                    "per_feature": per_feature,
                    "n_samples": data.n_samples,
                },
                fixes=("impute",),
            )
        )
    if data.nonfinite_targets:
        findings.append(
            RULE.finding(
                f"{data.nonfinite_targets} of {data.n_targets} target values are NaN/inf: "
                "drop those rows (targets cannot be imputed)",
                evidence={"nonfinite_targets": data.nonfinite_targets, "n_targets": data.n_targets},
            )
        )
    return findings


RULE = Rule(
    id="missing-values",
    code="ADV202",
    severity=Severity.ERROR,
    summary="NaN/inf in the training inputs or targets (Keras may train on them silently).",
    doc=__doc__ or "",
    check=check,
    needs_data=True,
    # NaN in what the model reads makes its loss NaN: the divergence is this finding's consequence.
    explains=("divergence",),
)
