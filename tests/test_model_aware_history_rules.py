"""History rules that read the model profile too, on real Keras runs recorded with it.

Each fixture in fixtures/histories/model_faults (made by fixtures/record_model_faults.py) holds
a probing fit's history and the ModelProfile `advisor diagnose` measured for that model and its
targets. With the profile, `labels` must be reported and nothing else (bar `tolerated`); on the
history alone, as `advisor check` sees it, `labels_without_model`. No TensorFlow here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from advisor.cli import main
from advisor.engine import run_rules
from advisor.findings import FIX_IDS, Finding, Severity
from advisor.history import history_from_logs
from advisor.model_facts import ModelProfile, TargetSummary
from advisor.rule import RuleContext
from tests.conftest import FIXTURES

FAULTS = FIXTURES / "histories" / "model_faults"
FILES = sorted(FAULTS.glob("*.json"))


def _load(path: Path) -> tuple[dict[str, Any], ModelProfile]:
    record = json.loads(path.read_text())
    fields = dict(record["model"])
    targets = fields.pop("targets")
    summary = TargetSummary(**{**targets, "shape": tuple(targets["shape"])})
    return record, ModelProfile(**fields, targets=summary)


def _reported(record: dict[str, Any], model: ModelProfile | None) -> dict[str, Finding]:
    history = history_from_logs(record["history"], source=record["name"])
    findings = run_rules(history, RuleContext(model=model))
    return {f.rule: f for f in findings if f.severity.rank >= Severity.WARNING.rank}


def test_fixtures_cover_each_rule_that_reads_the_model_and_healthy_runs() -> None:
    records = [_load(path)[0] for path in FILES]
    labels = [label for r in records for label in r["labels"] + r["labels_without_model"]]
    for rule in ("output-activation", "frozen-metric", "stalled", "divergence"):
        assert rule in labels
    assert sum(not r["labels"] and not r["labels_without_model"] for r in records) >= 3


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_with_the_model_profile_the_run_reports_its_labels(path: Path) -> None:
    record, model = _load(path)
    found = _reported(record, model)
    assert set(record["labels"]) <= set(found)
    assert not set(found) - set(record["labels"]) - set(record["tolerated"])
    assert all(set(f.fixes) <= set(FIX_IDS) and f.fixes for f in found.values())


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_on_the_history_alone_the_run_reports_as_advisor_check_did(path: Path) -> None:
    record, _ = _load(path)
    found = _reported(record, None)
    assert set(record["labels_without_model"]) <= set(found)
    assert not set(found) - set(record["labels_without_model"]) - set(record["tolerated"])


def test_regression_stalled_at_the_mean_says_so() -> None:
    record, model = _load(FAULTS / "constant-predictor-synth.json")
    finding = _reported(record, model)["stalled"]
    assert "predicting one constant value" in finding.message
    assert finding.fixes[0] == "lower-lr"  # the loss overshot first


def test_imbalanced_classes_stall_at_the_label_entropy_not_ln_k() -> None:
    record, model = _load(FAULTS / "class-prior-imbalanced-noise.json")
    finding = _reported(record, model)["stalled"]
    assert model.constant_loss is not None and model.constant_loss < 0.5  # ln 2 = 0.69
    assert "class frequencies" in finding.message
    assert _reported(record, None).get("stalled") is None  # ln k alone cannot see it


def test_first_epoch_blow_up_is_divergence_and_explains_the_flat_rest() -> None:
    record, model = _load(FAULTS / "first-epoch-blowup-synth.json")
    found = _reported(record, model)
    assert set(found) == {"divergence"}
    assert found["divergence"].evidence["ratio"] >= 100
    assert "first steps blew the weights up" in found["divergence"].message


def test_advisor_check_reports_the_frozen_accuracy(capsys: pytest.CaptureFixture[str]) -> None:
    path = FAULTS / "softmax-one-unit-cancer.json"
    assert main(["check", str(path), "--format", "json"]) == 1
    (finding,) = json.loads(capsys.readouterr().out)["findings"]
    assert finding["code"] == "ADV107" and finding["evidence"]["metric"] == "accuracy"
    assert finding["evidence"]["val_frozen"] is True


def test_a_bouncing_loss_that_never_beats_guessing_is_stalled() -> None:
    record, model = _load(FAULTS / "lstm-rmsprop-lr-too-high.json")
    finding = _reported(record, model)["stalled"]
    assert "never went below 0.7556 in 10 epochs" in finding.message
    assert "class frequencies" in finding.message
    assert finding.fixes[0] == "lower-lr"  # the first epoch's 1.77 is over twice the last loss
    assert _reported(record, None).get("stalled") is None  # without the targets: no reference


def test_a_loss_still_falling_fast_towards_chance_is_not_stalled() -> None:
    record, model = _load(FAULTS / "raw-wine-falling-from-high.json")
    loss = record["history"]["loss"]
    assert model.constant_loss is not None and min(loss) > model.constant_loss  # never beat it
    assert "stalled" not in _reported(record, model)


def test_a_flat_loss_worse_than_guessing_the_mean_is_stalled() -> None:
    record, model = _load(FAULTS / "flat-above-the-mean-friedman.json")
    finding = _reported(record, model)["stalled"]
    assert "above the loss of predicting one constant value" in finding.message
    assert finding.fixes[0] == "lower-lr"  # 1879 at the first epoch: the first steps overshot
