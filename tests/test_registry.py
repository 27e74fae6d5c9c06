"""Rules load through entry points and are checked like flake8 plug-ins; crashes stay contained."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from advisor.engine import run_rules
from advisor.findings import Finding, Severity
from advisor.history import TrainingHistory, history_from_logs
from advisor.registry import ENTRY_POINT_GROUP, _load, load_catalogue
from advisor.rule import Rule, RuleContext

HISTORY = history_from_logs({"loss": [1.0, 0.5], "val_loss": [1.0, 0.6]}, source="h.json")


def _explode(history: TrainingHistory, context: RuleContext) -> list[Finding]:
    raise ZeroDivisionError("boom")


GOOD_DOC = "## What it detects\n## Why it matters\n## Evidence\n## Fix\n"
EXPLODING = Rule("exploding", "XYZ901", Severity.INFO, "always crashes", GOOD_DOC, _explode)
BAD_CODE = Rule("bad-code", "x1", Severity.INFO, "bad code", GOOD_DOC, _explode)
NO_DOC = Rule("no-doc", "XYZ902", Severity.INFO, "no doc", "", _explode)


def test_builtin_catalogue_loads_without_errors_sorted_by_code() -> None:
    catalogue = load_catalogue()
    assert catalogue.load_errors == ()
    codes = [rule.code for rule in catalogue.rules]
    assert codes == sorted(codes) and len(codes) == len(set(codes)) >= 8


def test_crashing_rule_becomes_an_error_finding_about_itself() -> None:
    findings = run_rules(HISTORY, RuleContext(), rules=[EXPLODING])
    assert [(f.rule, f.code, f.severity) for f in findings] == [
        ("exploding", "XYZ901", Severity.ERROR)
    ]
    assert "ZeroDivisionError: boom" in findings[0].message


@pytest.mark.parametrize(
    ("name", "target", "expected"),
    [
        ("bad-code", "tests.test_registry:BAD_CODE", "does not match"),
        ("no-doc", "tests.test_registry:NO_DOC", "doc lacks the heading"),
        ("other-name", "tests.test_registry:EXPLODING", "differs from rule id"),
        ("not-a-rule", "tests.test_registry:HISTORY", "expected advisor.rule.Rule"),
    ],
)
def test_plugin_entries_are_validated(name: str, target: str, expected: str) -> None:
    entry = EntryPoint(name=name, value=target, group=ENTRY_POINT_GROUP)
    with pytest.raises((TypeError, ValueError), match=expected):
        _load(entry)
