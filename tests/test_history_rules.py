"""The six history rules, as a user of `advisor check` meets them.

Two kinds of cases. The recorded corpus of real Keras runs (fixtures/histories/corpus, made by
fixtures/record_corpus.py): every labelled fault must be reported at warning level or above,
and no other rule may be, except the few `tolerated` per run. Then small hand-written
histories per rule, for what the corpus does not pin down: validation every other epoch,
NaN mid-run, custom metric names, learning-rate keys, the exact numbers in messages.
No TensorFlow here: everything is read from JSON/CSV or written inline.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from advisor.capture.data_profile import profile
from advisor.cli import main
from advisor.engine import run_rules
from advisor.findings import FIX_IDS, Finding, Severity
from advisor.history import history_from_logs, load_history
from advisor.metric_names import mode_of
from advisor.probe_stats import ProbeStats
from advisor.registry import load_catalogue
from advisor.rule import RuleContext
from tests.conftest import FIXTURES

CORPUS = FIXTURES / "histories" / "corpus"
CORPUS_FILES = sorted(CORPUS.glob("*.json"))
HISTORY_RULES = {
    "overfitting": "ADV101",
    "plateau": "ADV102",
    "oscillation": "ADV103",
    "divergence": "ADV104",
    "stalled": "ADV105",
    "underfitting": "ADV106",
}


def reported(
    logs: dict[str, list[Any]], n_classes: int | None = None, probe: ProbeStats | None = None
) -> dict[str, Finding]:
    """Findings at warning or above from the whole catalogue, keyed by rule id."""
    history = history_from_logs(logs, source="h.json")
    findings = run_rules(history, RuleContext(n_classes=n_classes, probe=probe))
    return {f.rule: f for f in findings if f.severity.rank >= Severity.WARNING.rank}


def decay(start: float, end: float, n: int, rate: float = 5.0) -> list[float]:
    """A converging curve: exponential approach from ``start`` to ``end`` over ``n`` epochs."""
    return [end + (start - end) * math.exp(-rate * i / (n - 1)) for i in range(n)]


HEALTHY = {"loss": decay(2.0, 0.05, 30), "val_loss": decay(1.8, 0.15, 30)}


# ---- the corpus -----------------------------------------------------------------------------


def test_corpus_is_there_and_covers_every_rule() -> None:
    records = [json.loads(path.read_text()) for path in CORPUS_FILES]
    assert len(records) >= 60
    assert sum(not r["labels"] for r in records) >= 15
    for rule in HISTORY_RULES:
        assert sum(rule in r["labels"] for r in records) >= 6, rule


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[p.stem for p in CORPUS_FILES])
def test_corpus_run_reports_its_fault_and_nothing_else(path: Path) -> None:
    record = json.loads(path.read_text())
    probe = record.get("probe")  # recorded probe statistics: the probe rules judge them too
    found = reported(record["history"], probe=probe and ProbeStats.from_dict(probe))
    missing = set(record["labels"]) - set(found)
    unexpected = set(found) - set(record["labels"]) - set(record["tolerated"])
    assert not missing, f"{path.stem}: labelled fault(s) not reported: {sorted(missing)}"
    assert not unexpected, f"{path.stem}: false alarm(s): {sorted(unexpected)}"
    for rule in set(record["labels"]) & set(HISTORY_RULES):
        assert found[rule].code == HISTORY_RULES[rule]
        assert set(found[rule].fixes) <= set(FIX_IDS) and found[rule].fixes


CSV_RECORDS = [p for p in CORPUS_FILES if json.loads(p.read_text())["meta"].get("csv_file")]


@pytest.mark.parametrize("path", CSV_RECORDS, ids=[p.stem for p in CSV_RECORDS])
def test_csvlogger_file_gives_the_same_findings_as_the_history(path: Path) -> None:
    record = json.loads(path.read_text())
    csv_history = load_history(CORPUS / record["meta"]["csv_file"])
    from_csv = run_rules(csv_history, RuleContext())
    from_json = run_rules(history_from_logs(record["history"], source="h"), RuleContext())
    assert [f.rule for f in from_csv] == [f.rule for f in from_json]


def test_advisor_check_on_a_csvlogger_file(capsys: pytest.CaptureFixture[str]) -> None:
    path = CORPUS / "overfitting-moons-csv.csv"
    assert main(["check", str(path), "--format", "json"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert [f["code"] for f in payload["findings"]] == ["ADV101"]


def test_healthy_demo_file_passes_advisor_check() -> None:
    assert main(["check", str(FIXTURES / "histories" / "healthy.json")]) == 0


def test_demo_overfitting_file_fails_with_adv101(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(FIXTURES / "histories" / "demo_overfitting.json")]) == 1
    assert "ADV101" in capsys.readouterr().out


# ---- overfitting ----------------------------------------------------------------------------

OVERFIT_VAL = [1.0, 0.6, 0.45, 0.4, 0.42, 0.46, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75]
OVERFIT = {"loss": decay(1.0, 0.01, 12), "val_loss": OVERFIT_VAL}


def test_overfitting_names_the_best_epoch_and_the_values() -> None:
    finding = reported(OVERFIT)["overfitting"]
    assert (finding.code, finding.severity) == ("ADV101", Severity.WARNING)
    assert finding.evidence["monitor_best_epoch"] == 4
    assert "epoch 4 (0.4)" in finding.message and "ended at 0.75" in finding.message
    assert finding.fixes == ("early-stopping", "dropout", "l2", "elastic-net")


def test_overfitting_names_augmentation_only_for_image_inputs() -> None:
    history = history_from_logs(OVERFIT, source="h.json")
    images = np.random.default_rng(0).random((20, 8, 8, 1))
    for x, named in ((images, True), (images.reshape(20, -1), False)):
        data = profile(x, np.zeros(20), model_normalizes_inputs=False)
        overfitting = load_catalogue().find("overfitting")
        (finding,) = run_rules(history, RuleContext(data=data), rules=[overfitting])
        assert ("augment" in finding.fixes) is named


def test_overfitting_with_validation_every_other_epoch() -> None:
    logs = {"loss": decay(1.0, 0.01, 24), "val_loss": OVERFIT_VAL}  # validation_freq=2
    finding = reported(logs)["overfitting"]
    assert finding.evidence["monitor_best_epoch"] == 8  # the 4th validation ran at epoch 8
    assert finding.evidence["epochs_since_best"] == 16


def test_no_overfitting_when_training_stopped_improving_too() -> None:
    logs = {"loss": [1.0, 0.6, *[0.5] * 10], "val_loss": OVERFIT_VAL}
    assert "overfitting" not in reported(logs)


def test_small_validation_noise_is_not_overfitting() -> None:
    val = decay(1.8, 0.15, 30)
    val[-5:] = [v * 1.03 for v in val[-5:]]  # the last epochs 3 % worse: noise, not a trend
    assert reported({"loss": HEALTHY["loss"], "val_loss": val}) == {}


# ---- plateau --------------------------------------------------------------------------------


def test_plateau_counts_epochs_without_improvement_like_early_stopping() -> None:
    logs = {"loss": decay(1.0, 0.2, 60, rate=10), "val_loss": [*decay(1.0, 0.3, 15), *[0.3] * 45]}
    finding = reported(logs)["plateau"]
    assert finding.code == "ADV102"
    assert finding.evidence["min_delta"] == 0.01
    assert finding.evidence["epochs_without_improvement"] >= 40
    assert f"of {60} epochs" in finding.message
    assert finding.fixes == ("lr-decay", "early-stopping")


def test_a_short_flat_end_is_not_a_plateau() -> None:
    logs = {"loss": decay(1.0, 0.2, 30), "val_loss": [*decay(1.0, 0.3, 24), *[0.3] * 6]}
    assert "plateau" not in reported(logs)


def test_rising_validation_is_overfitting_not_plateau() -> None:
    found = reported({"loss": decay(1.0, 0.01, 40), "val_loss": [*OVERFIT_VAL, *[0.8] * 28]})
    assert "overfitting" in found and "plateau" not in found


# ---- oscillation ----------------------------------------------------------------------------

ZIGZAG = [0.6, 0.3, 0.5, 0.25, 0.55, 0.3, 0.5, 0.2, 0.6, 0.3, 0.5, 0.28, 0.52, 0.3, 0.5]


def test_oscillation_counts_reversals_of_validation_loss() -> None:
    finding = reported({"loss": decay(1.0, 0.3, 15), "val_loss": ZIGZAG})["oscillation"]
    assert finding.code == "ADV103"
    assert finding.evidence["monitor"] == "val_loss"
    assert finding.evidence["swings"] == 13
    assert "reversed direction 13 times in 15 logged epochs" in finding.message
    assert "between 0.2 and 0.6" in finding.message
    assert finding.fixes == ("lower-lr", "lr-decay")


def test_oscillating_training_loss_alone_is_reported() -> None:
    finding = reported({"loss": ZIGZAG, "val_loss": decay(1.0, 0.3, 15)})["oscillation"]
    assert finding.evidence["monitor"] == "loss"


def test_small_wobble_of_a_converged_curve_is_not_oscillation() -> None:
    wobble = [0.3 + (0.004 if i % 2 else -0.004) for i in range(20)]  # steps of 2.7 %
    assert "oscillation" not in reported({"loss": decay(1.0, 0.2, 20), "val_loss": wobble})


# ---- divergence -----------------------------------------------------------------------------


def test_nan_mid_run_is_divergence_only() -> None:
    logs = {
        "loss": [1.0, 0.8, 0.7, 0.6, float("nan"), float("nan")],
        "val_loss": [1.0, 0.9, 0.8, 0.8, float("nan"), float("nan")],
        "accuracy": [0.2, 0.4, 0.5, 0.6, 0.1, 0.1],
    }
    found = reported(logs)
    assert list(found) == ["divergence"]
    assert (found["divergence"].severity, found["divergence"].evidence["epoch"]) == (
        Severity.ERROR,
        5,
    )


def test_loss_running_away_from_its_best_is_divergence() -> None:
    loss = [0.5, 0.1, 0.01, 0.02, 0.5, 30.0, 2e3, 1e5]
    finding = reported({"loss": loss, "val_loss": loss})["divergence"]
    assert finding.evidence["peak_epoch"] == 6  # 30 is 3000x the best 0.01 and above the start
    assert "(3e+03x) by epoch 6" in finding.message


def test_a_spike_below_the_starting_loss_is_not_divergence() -> None:
    loss = [0.7, 0.2, 0.01, 0.5, 0.05, 0.01, 0.008]  # 50x the best, still under the start
    assert "divergence" not in reported({"loss": loss, "val_loss": decay(0.7, 0.1, 7)})


# ---- stalled --------------------------------------------------------------------------------

CHANCE_10 = [2.40, 2.33, 2.31, *[2.303] * 17]


def test_stalled_at_ln_k_with_known_classes() -> None:
    finding = reported({"loss": CHANCE_10, "val_loss": CHANCE_10}, n_classes=10)["stalled"]
    assert finding.code == "ADV105"
    assert "ln 10 = 2.303 for 10 classes" in finding.message
    assert finding.fixes == (
        "standardize", "lower-lr", "relu-he", "batch-norm", "less-regularisation"
    )


def test_stalled_recognises_chance_from_a_custom_accuracy_name() -> None:
    logs = {"loss": CHANCE_10, "val_loss": CHANCE_10, "acc": [0.1] * 20, "val_acc": [0.1] * 20}
    assert reported(logs)["stalled"].evidence["n_classes"] == 10


def test_flat_loss_near_ln2_without_classes_or_accuracy_is_not_stalled() -> None:
    loss = [0.9, 0.75, *[0.69] * 18]  # a regression MSE may well settle at 0.69
    assert "stalled" not in reported({"loss": loss, "val_loss": loss})


def test_stalled_after_an_overshoot_suggests_lower_lr_first() -> None:
    loss = [3.1e6, 0.76, 0.72, *[0.694] * 17]
    logs = {"loss": loss, "val_loss": [0.7] * 20, "accuracy": [0.57] * 20}
    assert reported(logs, n_classes=2)["stalled"].fixes[:2] == ("lower-lr", "standardize")


def test_loss_not_moving_from_the_start_is_stalled() -> None:
    loss = [1.4928 - 1e-5 * i for i in range(20)]
    logs = {"loss": loss, "val_loss": [1.52] * 20, "learning_rate": [1e-6] * 20}
    finding = reported(logs)["stalled"]
    assert "below the first epoch's 1.493" in finding.message
    assert set(reported(logs)) == {"stalled"}  # not also a plateau or underfitting


# ---- underfitting ---------------------------------------------------------------------------


def test_underfitting_when_both_curves_still_fall_steeply() -> None:
    straight = [2.5 - 0.07 * i for i in range(15)]
    logs = {"loss": straight, "val_loss": straight}
    finding = reported(logs)["underfitting"]
    assert finding.code == "ADV106"
    assert "stopped at epoch 15" in finding.message
    assert finding.fixes == ("train-longer", "bigger-model", "less-regularisation")
    assert not finding.directions  # no probe: nothing says which way the rate is off


def test_underfitting_with_sparse_validation_and_lr_key() -> None:
    logs = {
        "loss": [1.45 - 0.015 * i for i in range(20)],
        "val_loss": [1.41 - 0.03 * i for i in range(10)],  # validation_freq=2
        "lr": [0.01] * 20,
    }
    assert reported(logs)["underfitting"].evidence["tail_from_epoch"] == 16


def test_converged_run_is_not_underfitting() -> None:
    assert reported(HEALTHY) == {}


# ---- shared series maths ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "mode"),
    [
        ("loss", "min"),
        ("val_loss", "min"),
        ("mean_absolute_error", "min"),
        ("val_rmse", "min"),
        ("sparse_categorical_crossentropy", "min"),
        ("accuracy", "max"),
        ("val_acc", "max"),
        ("auc_1", "max"),
        ("val_precision", "max"),
        ("f1_score", "max"),
        ("learning_rate", None),
    ],
)
def test_mode_is_decided_by_the_metric_name(name: str, mode: str | None) -> None:
    assert mode_of(name) == mode


def test_rules_ignore_learning_rate_and_unknown_metrics() -> None:
    logs = {**HEALTHY, "learning_rate": [10.0**-i for i in range(30)], "my_metric": [1.0] * 30}
    assert reported(logs) == {}


def test_every_history_rule_is_registered_under_its_public_code() -> None:
    catalogue = load_catalogue()
    for rule_id, code in HISTORY_RULES.items():
        rule = catalogue.find(rule_id)
        assert rule.code == code
        assert "Fix safety" in rule.doc
