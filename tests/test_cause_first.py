"""Cause before symptom: a finding another finding explains is listed right after it and marked
as its consequence, declared by the explaining rule (``Rule.explains``), never by the engine."""

from __future__ import annotations

import json
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from advisor.cli import main
from advisor.engine import run_rules
from advisor.findings import Finding, Severity
from advisor.history import TrainingHistory, history_from_logs
from advisor.registry import ENTRY_POINT_GROUP, _load, load_catalogue
from advisor.rule import Rule, RuleContext

HISTORY = history_from_logs({"loss": [1.0, 0.5], "val_loss": [1.0, 0.6]}, source="h.json")
DOC = "## What it detects\n## Why it matters\n## Evidence\n## Fix\n"


def _rule(
    rule_id: str, code: str, severity: Severity = Severity.WARNING, explains: tuple[str, ...] = ()
) -> Rule:
    """A rule that always fires."""

    def check(history: TrainingHistory, context: RuleContext) -> list[Finding]:
        return [Finding(rule_id, code, severity, f"{rule_id} fires")]

    return Rule(rule_id, code, severity, "fires", DOC, check, explains=explains)


SYMPTOM = _rule("symptom", "XYZ101", Severity.ERROR)
CAUSE = _rule("cause", "XYZ302", explains=("symptom", "absent"))
OTHER = _rule("other", "XYZ201")
CHICKEN = _rule("chicken", "XYZ401", explains=("egg",))
EGG = _rule("egg", "XYZ402", explains=("chicken",))
SELF = _rule("self-explained", "XYZ403", explains=("self-explained",))


def order(rules: list[Rule]) -> list[tuple[str, str | None]]:
    return [(f.rule, f.explained_by) for f in run_rules(HISTORY, RuleContext(), rules=rules)]


def test_the_symptom_follows_its_cause_even_when_more_severe() -> None:
    # Without the declaration the error would come first: most severe first, then by code.
    assert order([SYMPTOM, OTHER]) == [("symptom", None), ("other", None)]
    assert order([SYMPTOM, OTHER, CAUSE]) == [
        ("other", None),
        ("cause", None),
        ("symptom", "cause"),
    ]


def test_a_cause_that_did_not_fire_explains_nothing() -> None:
    assert order([SYMPTOM, OTHER]) == order([OTHER, SYMPTOM])


def test_rules_explaining_each_other_are_both_left_alone() -> None:
    assert order([EGG, CHICKEN]) == [("chicken", None), ("egg", None)]


def test_a_rule_cannot_explain_itself() -> None:
    entry = EntryPoint("self-explained", "tests.test_cause_first:SELF", ENTRY_POINT_GROUP)
    with pytest.raises(ValueError, match="explains lists self-explained"):
        _load(entry)


def test_from_logits_explains_the_underfit_look_it_causes() -> None:
    from_logits = load_catalogue().find("from-logits")
    assert {"underfitting", "stalled"} <= set(from_logits.explains)


@pytest.mark.parametrize("cause", ["vanishing-gradients", "saturation"])
def test_a_vanishing_gradient_explains_the_stall_and_underfitting_it_causes(cause: str) -> None:
    # So ReLU+He is searched first, and a learning rate or a bigger model joins only as extras.
    assert {"underfitting", "stalled"} <= set(load_catalogue().find(cause).explains)


def test_the_consequence_is_marked_in_every_format(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import advisor.registry as registry

    catalogue = registry.Catalogue(rules=(SYMPTOM, CAUSE), load_errors=())
    monkeypatch.setattr(registry, "load_catalogue", lambda: catalogue)
    monkeypatch.setattr("advisor.engine.load_catalogue", lambda: catalogue)
    path = tmp_path / "h.json"
    path.write_text(json.dumps({"loss": [1.0, 0.5], "val_loss": [1.0, 0.6]}))
    main(["check", str(path), "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["rule"], f["explained_by"]) for f in findings] == [
        ("cause", None),
        ("symptom", "cause"),
    ]
    main(["check", str(path), "--format", "concise"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].endswith("XYZ101 symptom fires (a consequence of cause)")
    main(["check", str(path)])
    assert "└ symptom" in capsys.readouterr().out
