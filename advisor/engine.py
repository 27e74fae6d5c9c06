"""Runs the rules on one history and collects their findings.

Following deepchecks, a rule that raises does not stop the run: it becomes an error finding
about that rule, so one faulty rule (ours or a plug-in's) never hides the others' results.
"""

from __future__ import annotations

from collections.abc import Iterable

from advisor.errors import AdvisorError
from advisor.findings import Finding, Severity
from advisor.history import TrainingHistory
from advisor.registry import load_catalogue
from advisor.rule import Rule, RuleContext

MIN_EPOCHS = 2


def require_judgeable(history: TrainingHistory) -> None:
    """Refuse histories no trend rule can judge, with a sentence saying what to record instead."""
    if history.n_epochs < MIN_EPOCHS:
        raise AdvisorError(
            f"{history.source}: only {history.n_epochs} epoch recorded; "
            f"at least {MIN_EPOCHS} are needed to judge a trend"
        )
    if not history.has_validation:
        raise AdvisorError(
            f"{history.source}: no validation metrics (val_*); fit with validation_data "
            "or validation_split so training can be compared with validation"
        )


def run_rules(
    history: TrainingHistory,
    context: RuleContext,
    *,
    rules: Iterable[Rule] | None = None,
) -> list[Finding]:
    """All findings of ``rules`` (default: the whole catalogue), most severe first."""
    findings: list[Finding] = []
    for rule in load_catalogue().rules if rules is None else rules:
        if rule.needs_data and context.data is None:
            continue
        try:
            findings.extend(rule.check(history, context))
        except Exception as error:
            findings.append(
                rule.finding(
                    f"rule crashed on {history.source}: {type(error).__name__}: {error}",
                    severity=Severity.ERROR,
                    evidence={"exception": type(error).__name__},
                )
            )
    return sorted(findings, key=lambda f: (-f.severity.rank, f.code))
