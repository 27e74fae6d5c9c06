"""Precedence between rules is data the engine applies, so a third-party rule can take part.

Rules never import each other: each runs on its own, and a rule that fires drops the findings
of the rules it declares in ``supersedes``.
"""

from __future__ import annotations

import ast
import json

import pytest

from advisor.cli import main
from advisor.engine import cause_first, run_rules, run_rules_with_explained
from advisor.findings import Finding, Severity
from advisor.fixes.selection import unaddressed
from advisor.history import TrainingHistory, history_from_logs
from advisor.registry import load_catalogue
from advisor.rule import Rule, RuleContext
from tests.conftest import ROOT

HISTORY = history_from_logs({"loss": [1.0, 0.5], "val_loss": [1.0, 0.6]}, source="h.json")
DOC = "## What it detects\n## Why it matters\n## Evidence\n## Fix\n"
DIVERGED = ROOT / "fixtures" / "histories" / "corpus" / "divergence-wine-sgd-blowup.json"


def _rule(rule_id: str, code: str, supersedes: tuple[str, ...] = ()) -> Rule:
    """A rule that always fires."""

    def check(history: TrainingHistory, context: RuleContext) -> list[Finding]:
        return [Finding(rule_id, code, Severity.WARNING, "fires")]

    return Rule(rule_id, code, Severity.WARNING, "fires", DOC, check, supersedes=supersedes)


RULES = {
    "symptom": _rule("symptom", "XYZ101"),
    "cause": _rule("cause", "XYZ102", supersedes=("symptom",)),
    "chicken": _rule("chicken", "XYZ103", supersedes=("egg",)),
    "egg": _rule("egg", "XYZ104", supersedes=("chicken",)),
}


def _ids(findings: list[Finding]) -> list[str]:
    return sorted(f.rule for f in findings)


def test_a_plugin_rule_supersedes_another_through_the_engine() -> None:
    both = run_rules(HISTORY, RuleContext(), rules=[RULES["symptom"], RULES["cause"]])
    assert _ids(both) == ["cause"]
    alone = run_rules(HISTORY, RuleContext(), rules=[RULES["symptom"]])
    assert _ids(alone) == ["symptom"]


def test_the_findings_precedence_drops_are_kept_apart_for_the_search() -> None:
    rules = [RULES["symptom"], RULES["cause"]]
    kept, explained = run_rules_with_explained(HISTORY, RuleContext(), rules=rules)
    assert (_ids(kept), _ids(explained)) == (["cause"], ["symptom"])


def test_a_superseded_rule_still_supersedes_what_it_explains() -> None:
    root = _rule("root", "XYZ105", supersedes=("cause",))
    findings = run_rules(HISTORY, RuleContext(), rules=[root, RULES["cause"], RULES["symptom"]])
    assert _ids(findings) == ["root"]


def test_rules_that_supersede_each_other_both_stay() -> None:
    findings = run_rules(HISTORY, RuleContext(), rules=[RULES["chicken"], RULES["egg"]])
    assert _ids(findings) == ["chicken", "egg"]


def test_a_crashing_rule_supersedes_nothing() -> None:
    def explode(history: TrainingHistory, context: RuleContext) -> list[Finding]:
        raise RuntimeError("boom")

    crashing = Rule("cause", "XYZ102", Severity.WARNING, "x", DOC, explode, supersedes=("symptom",))
    findings = run_rules(HISTORY, RuleContext(), rules=[RULES["symptom"], crashing])
    assert _ids(findings) == ["cause", "symptom"]


def test_no_rule_module_imports_another_rule() -> None:
    for path in sorted((ROOT / "rules").glob("*.py")):
        tree = ast.parse(path.read_text())
        imported = [
            alias.name if isinstance(node, ast.Import) else f"{node.module}.{alias.name}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        ]
        # Shared maths lives in private helper modules (``rules._series``, ``rules._probe``).
        others = [n for n in imported if n.startswith("rules.") and not n.startswith("rules._")]
        assert not others, f"{path.name} imports {others}"


def test_diverged_run_gets_one_diagnosis_but_each_rule_still_judges_alone() -> None:
    record = json.loads(DIVERGED.read_text())
    history = history_from_logs(record["history"], source=DIVERGED.name)
    assert _ids(run_rules(history, RuleContext())) == ["divergence"]
    oscillation = load_catalogue().find("oscillation")
    assert _ids(run_rules(history, RuleContext(), rules=[oscillation])) == ["oscillation"]


def test_builtin_supersedes_name_rules_of_the_catalogue() -> None:
    catalogue = load_catalogue()
    ids = {rule.id for rule in catalogue.rules}
    for rule in catalogue.rules:
        assert set(rule.supersedes) <= ids, rule.id


@pytest.mark.parametrize(("args", "expected"), [(["explain", "ADV104"], "supersedes: overfitting")])
def test_explain_shows_the_precedence(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 0
    assert expected in capsys.readouterr().out


def test_rules_json_lists_supersedes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--format", "json"]) == 0
    rows = {row["rule"]: row for row in json.loads(capsys.readouterr().out)["rules"]}
    assert rows["stalled"]["supersedes"] == ["overfitting", "plateau", "underfitting"]


def test_a_consequence_is_dealt_with_through_its_causes_fix() -> None:
    """A diverged net at chance: lower-lr deals with the divergence and with the one-class
    predictions it caused, so only a finding neither fix touches is listed as not addressed."""
    diverged = Finding("divergence", "ADV104", Severity.ERROR, "NaN", fixes=("lower-lr",))
    at_chance = Finding(
        "majority-class",
        "ADV205",
        Severity.WARNING,
        "one class",
        fixes=("class-weight",),
        explained_by="divergence",
    )
    shifted = Finding(
        "validation-shift", "ADV204", Severity.WARNING, "sorted", fixes=("shuffle-split",)
    )
    left = unaddressed([diverged, at_chance, shifted], ("lower-lr",))
    assert [u.rule for u in left] == ["validation-shift"]
    assert [u.rule for u in unaddressed([diverged, at_chance], ())] == [
        "divergence",
        "majority-class",
    ]


def test_not_addressed_names_the_findings_own_fixes_not_the_adopted_one() -> None:
    """standardize adopted for a scale finding says nothing about the oscillation beside it:
    the sentence names the oscillation's own fixes and which of them were tried."""
    oscillating = Finding(
        "oscillation", "ADV103", Severity.WARNING, "swings", fixes=("lower-lr", "lr-decay")
    )
    (left,) = unaddressed([oscillating], ("standardize",), ("standardize", "lower-lr"))
    assert left.sentence() == (
        "ADV103 oscillation: its fixes tried (lower-lr) were not adopted; not tried: lr-decay; "
        "likely cause: swings"
    )
    (untried,) = unaddressed([oscillating], ("standardize",), ("standardize",))
    assert "its fixes (lower-lr, lr-decay) were not tried" in untried.sentence()


def test_a_stalled_net_at_chance_is_one_fault_dealt_with_by_the_stalls_fix() -> None:
    """Ten sigmoid layers that never learn predict the prior: the majority-class finding is
    the stall's consequence, so once relu-he + lower-lr is adopted the report does not list
    "at chance" as not addressed (the holdout shows the accuracy the fix reached)."""
    catalogue = load_catalogue()
    at_chance = Finding("majority-class", "ADV205", Severity.WARNING, "at chance")
    stalled = Finding("stalled", "ADV105", Severity.WARNING, "flat", fixes=("lower-lr",))
    fired = [catalogue.find("majority-class"), catalogue.find("stalled")]
    ordered = cause_first([at_chance, stalled], fired)
    assert [(f.rule, f.explained_by) for f in ordered] == [
        ("stalled", None),
        ("majority-class", "stalled"),
    ]
    assert unaddressed(ordered, ("relu-he", "lower-lr")) == ()
