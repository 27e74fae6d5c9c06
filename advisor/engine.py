"""Runs the rules on one history and collects their findings.

Following deepchecks, a rule that raises does not stop the run: it becomes an error finding
about that rule, so one faulty rule (ours or a plug-in's) never hides the others' results.

Every rule runs on its own; precedence is data. A rule that fires drops the findings of the
rules it ``supersedes`` (one curve, one diagnosis; a head of a multi-output model is a curve of
its own), even when its own finding is dropped in
turn: a stalled curve has no trend for the plateau rule to read, whatever explains the stall.
Two rules that supersede each other both stay, and the outcome never depends on the order the
rules ran in. A rule that ``explains`` another keeps its finding but puts it second: cause
before symptom, the symptom marked as the cause's consequence.

A model rule judges one output against one target array. In a model with several outputs it
runs once per head, on that head's profile (``RuleContext.model_heads``); each finding names
its head (``head 'digit': ...``, evidence ``head``), so precedence stays within the head.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

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
    """All findings of ``rules`` (default: the whole catalogue) after precedence, most severe
    first."""
    return run_rules_with_explained(history, context, rules=rules)[0]


def run_rules_with_explained(
    history: TrainingHistory,
    context: RuleContext,
    *,
    rules: Iterable[Rule] | None = None,
) -> tuple[list[Finding], list[Finding]]:
    """The findings :func:`run_rules` keeps, and those precedence dropped because another
    finding explains them: the report shows only the first, the search lets the second's fixes
    join as optional extras (a symptom's fix must earn its place beyond the root cause's)."""
    findings: list[Finding] = []
    fired: dict[str | None, list[Rule]] = {}
    for rule in load_catalogue().rules if rules is None else rules:
        if not has_inputs(rule, context) and not _per_head(rule, context):
            continue
        try:
            found = _check(rule, history, context)
        except Exception as error:
            findings.append(
                rule.finding(
                    f"rule crashed on {history.source}: {type(error).__name__}: {error}",
                    severity=Severity.ERROR,
                    evidence={"exception": type(error).__name__},
                )
            )
            continue
        findings.extend(found)
        for head in dict.fromkeys(_head(f) for f in found):
            fired.setdefault(head, []).append(rule)
    whole = fired.get(None, [])
    dropped = {head: superseded([*whole, *rules]) for head, rules in fired.items()}
    ordered = sorted(findings, key=lambda f: (-f.severity.rank, f.code))
    kept = [f for f in ordered if f.rule not in dropped.get(_head(f), superseded(whole))]
    every = list(dict.fromkeys(rule for rules in fired.values() for rule in rules))
    return cause_first(kept, every), [f for f in ordered if f not in kept]


def _per_head(rule: Rule, context: RuleContext) -> bool:
    """Whether ``rule`` runs once per output head instead of once for the model."""
    return rule.needs_model and context.model is None and bool(context.model_heads)


def _check(rule: Rule, history: TrainingHistory, context: RuleContext) -> list[Finding]:
    if not _per_head(rule, context):
        return rule.check(history, context)
    found = []
    for head in context.model_heads:
        if has_inputs(rule, each := replace(context, model=head)):
            found += [_named_head(f, head.head) for f in rule.check(history, each)]
    return found


def _named_head(finding: Finding, head: str | None) -> Finding:
    if head is None:
        return finding
    return replace(
        finding,
        message=f"head '{head}': {finding.message}",
        evidence={**finding.evidence, "head": head},
    )


def has_inputs(rule: Rule, context: RuleContext) -> bool:
    """Whether the context holds what the rule declares it reads (data, model, probe
    statistics): the one place a rule's needs are enforced, so no rule checks them itself."""
    return not (
        (rule.needs_data and context.data is None)
        or (rule.needs_model and context.model is None)
        or (rule.needs_probe and context.probe is None)
    )


def _head(finding: Finding) -> str | None:
    """The output head a finding judges (evidence ``head``), None for the whole model: one
    head's diagnosis supersedes only that head's other findings, the whole model's all."""
    head = finding.evidence.get("head")
    return head if isinstance(head, str) else None


def model_findings(context: RuleContext, rules: Iterable[Rule] | None = None) -> list[Finding]:
    """The findings of the rules that read only the model, which need no training: what can
    still be said when the model cannot even be fitted."""
    chosen = load_catalogue().rules if rules is None else rules
    empty = TrainingHistory(series={}, n_epochs=0, source="the model")
    return run_rules(empty, context, rules=[rule for rule in chosen if rule.needs_model])


def superseded(fired: Iterable[Rule]) -> set[str]:
    """Ids of the rules whose findings give way: superseded by a fired rule that they do not
    supersede back."""
    fired = list(fired)
    declared = {rule.id: set(rule.supersedes) for rule in fired}
    return {
        target
        for rule in fired
        for target in rule.supersedes
        if rule.id not in declared.get(target, set())
    }


def cause_first(findings: Sequence[Finding], fired: Iterable[Rule]) -> list[Finding]:
    """``findings`` in their order, except that each one a fired rule ``explains`` comes right
    after the explaining finding, with ``explained_by`` set. The first (most severe) cause
    wins; two rules that explain each other are both left alone (as with ``supersedes``), and
    a declaration that would close a longer cycle is ignored."""
    present = {f.rule for f in findings}
    declared = {rule.id: rule.explains for rule in fired if rule.id in present}
    cause: dict[str, str] = {}
    for source in dict.fromkeys(f.rule for f in findings):
        for target in declared.get(source, ()):
            mutual = source in declared.get(target, ())
            free = target in present and target not in cause and not mutual
            if free and not _leads_to(cause, source, target):
                cause[target] = source
    ordered: list[Finding] = []

    def place(rule_id: str) -> None:
        ordered.extend(
            f if rule_id not in cause else replace(f, explained_by=cause[rule_id])
            for f in findings
            if f.rule == rule_id
        )
        for consequence in (t for t, c in cause.items() if c == rule_id):
            place(consequence)

    for rule_id in dict.fromkeys(f.rule for f in findings):
        if rule_id not in cause:
            place(rule_id)
    return ordered


def _leads_to(cause: dict[str, str], start: str, target: str) -> bool:
    """Whether following ``cause`` up from ``start`` reaches ``target`` (a cycle if linked)."""
    seen = start
    while seen in cause:
        seen = cause[seen]
        if seen == target:
            return True
    return start == target
