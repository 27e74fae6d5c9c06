"""The probe rules (vanishing/exploding gradients, dead units, saturation) as a user meets them.

Their verdicts on the recorded corpus (probe statistics stored beside each history) are checked
with the history rules in test_history_rules.py; here: what the instrumentation measures on
real tiny Keras models, that it does not change training, that the rules stay silent without
a probe (`advisor check`), and `advisor diagnose` on the fault scripts end to end.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from advisor.cli import main
from advisor.engine import run_rules
from advisor.findings import FIX_IDS
from advisor.history import history_from_logs
from advisor.model_facts import ModelProfile, constant_loss, summarise_targets
from advisor.probe_stats import ProbeStats
from advisor.registry import load_catalogue
from advisor.rule import RuleContext
from advisor.training.fit import fit_plan
from advisor.training.instrumentation import ProbeInstrumentation, record_epochs
from rules import saturation
from tests.conftest import FIXTURES
from tests.test_fix_training import make_plan

PROBE_RULES = {
    "vanishing-gradients": "ADV401",
    "exploding-gradients": "ADV402",
    "dead-units": "ADV403",
    "saturation": "ADV404",
}
CORPUS = FIXTURES / "histories" / "corpus"
PROBED = [p for p in sorted(CORPUS.glob("*.json")) if "probe" in json.loads(p.read_text())]


def probe_fit(
    model: keras.Model, x: np.ndarray, y: np.ndarray, *, epochs: int = 4, loss: str = "mse"
) -> tuple[ProbeStats, list[float]]:
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss=loss)
    probe = ProbeInstrumentation(x, y, seed=0)
    history = model.fit(x, y, epochs=epochs, batch_size=16, verbose=0, callbacks=[probe])
    return probe.stats(), history.history["loss"]


def data(n: int = 64, features: int = 6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, features)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


def test_rules_are_registered_with_their_codes() -> None:
    catalogue = load_catalogue()
    assert not catalogue.load_errors
    for rule_id, code in PROBE_RULES.items():
        assert catalogue.find(code).id == rule_id


def test_instrumentation_does_not_change_training() -> None:
    x, y = data()
    runs = []
    for instrumented in (False, True):
        keras.utils.set_random_seed(0)
        layers = [keras.layers.Dense(8, "relu"), keras.layers.Dropout(0.2), keras.layers.Dense(1)]
        model = keras.Sequential([keras.Input((6,)), *layers])
        model.compile(optimizer="adam", loss="mse")
        callbacks = [ProbeInstrumentation(x, y)] if instrumented else []
        history = model.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=callbacks)
        runs.append(history.history["loss"])
    assert runs[0] == runs[1]


def test_records_before_training_first_last_and_between() -> None:
    assert record_epochs(40) == {0, 1, 14, 27, 40}
    assert record_epochs(2) == {0, 1, 2}
    x, y = data()
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(8, "tanh"), keras.layers.Dense(1)]
    )
    stats, _ = probe_fit(model, x, y, epochs=7)
    assert stats.epochs == (0, 1, 3, 5, 7)
    hidden, output = stats.layers
    assert (hidden.activation, output.activation) == ("tanh", None)  # outputs are not judged
    assert len(hidden.gradient_norms) == 5 and len(hidden.update_ratios) == 4
    assert all(0 < g < 100 for g in hidden.gradient_norms)
    assert len(hidden.saturated_fractions) == 5 and not output.saturated_fractions
    assert stats.batch_size == 64 and stats.seconds > 0


def test_dead_and_saturated_units_are_measured() -> None:
    x, y = data()
    keras.utils.set_random_seed(0)
    huge = keras.initializers.RandomNormal(stddev=50.0)
    born_dead = keras.initializers.Constant(-100.0)
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8, "sigmoid", kernel_initializer=huge),
            keras.layers.Dense(8, "relu", bias_initializer=born_dead),
            keras.layers.Dense(1),
        ]
    )
    stats, _ = probe_fit(model, x, y, epochs=2)
    sigmoid, relu, _ = stats.layers
    assert sigmoid.dead_fractions == () and sigmoid.saturated_fractions[0] > 0.9
    assert relu.dead_fractions == (1.0, 1.0, 1.0)
    assert relu.gradient_norms[0] == 0.0  # a dead layer passes no gradient
    findings = {f.rule for f in run_rules(_history(), RuleContext(probe=stats))}
    assert "dead-units" in findings


def test_embeddings_convolutions_and_recurrent_layers_are_measured() -> None:
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 20, size=(48, 8))
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Embedding(20, 4),
            keras.layers.Conv1D(4, 3, activation="relu"),
            keras.layers.GRU(4),
            keras.layers.Dense(1),
        ]
    )
    stats, losses = probe_fit(model, tokens, tokens.mean(axis=1, keepdims=True), epochs=2)
    assert [layer.kind for layer in stats.layers] == ["Embedding", "Conv1D", "GRU", "Dense"]
    assert all(layer.gradient_norms[0] > 0 for layer in stats.layers)
    assert stats.layers[1].dead_fractions and stats.layers[2].saturated_fractions
    assert np.isfinite(losses).all()


def test_probe_statistics_survive_json() -> None:
    x, y = data()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, "relu")])
    stats, _ = probe_fit(model, x, y[:, :1].repeat(4, axis=1), epochs=1)
    assert ProbeStats.from_dict(json.loads(json.dumps(stats.to_dict()))) == stats
    with pytest.raises(ValueError, match="malformed probe statistics"):
        ProbeStats.from_dict({"epochs": [0]})


def _history() -> Any:
    return history_from_logs({"loss": [1.0, 0.9], "val_loss": [1.0, 0.95]}, source="h.json")


@pytest.mark.parametrize("path", PROBED, ids=[p.stem for p in PROBED])
def test_probe_rules_stay_silent_without_a_probe(path: Path) -> None:
    record = json.loads(path.read_text())
    history = history_from_logs(record["history"], source=path.name)
    with_probe = run_rules(history, RuleContext(probe=ProbeStats.from_dict(record["probe"])))
    without = run_rules(history, RuleContext())
    assert not {f.rule for f in without} & set(PROBE_RULES)
    for finding in with_probe:
        if finding.rule in PROBE_RULES:
            assert finding.code == PROBE_RULES[finding.rule]
            assert set(finding.fixes) <= set(FIX_IDS)


def test_corpus_holds_every_probe_fault_in_every_model_family() -> None:
    records = [json.loads(path.read_text()) for path in PROBED]
    for rule in PROBE_RULES:
        assert sum(rule in r["labels"] for r in records) >= 5, rule
    healthy_families = {r["meta"]["arch"] for r in records if not r["labels"]}
    assert healthy_families >= {"dense", "conv2d", "conv1d", "lstm", "gru", "embedding"}


@pytest.mark.parametrize(
    ("script", "rule"),
    [("deep_sigmoid_sgd.py", "vanishing-gradients"), ("dead_relu_high_lr.py", "dead-units")],
)
def test_diagnose_reports_the_fault_a_script_was_built_with(
    capsys: pytest.CaptureFixture[str], script: str, rule: str
) -> None:
    code = main(["diagnose", "--format", "json", "--no-fix", str(FIXTURES / "scripts" / script)])
    (report,) = json.loads(capsys.readouterr().out)["reports"]
    assert code == 1
    assert rule in {finding["rule"] for finding in report["findings"]}
    instrumentation = report["probe"]["instrumentation"]
    assert instrumentation["epochs"][0] == 0 and instrumentation["layers"]


@pytest.mark.parametrize("kind", ["sequential", "subclassed"])
def test_only_the_instrumented_fit_measures_and_it_trains_the_same(kind: str) -> None:
    plan = make_plan(kind)
    plain, probed = fit_plan(plan, seed=0), fit_plan(plan, seed=0, instrument=True)
    assert plain.probe is None and probed.probe is not None
    assert plain.history.get("val_loss") == probed.history.get("val_loss")
    hidden = probed.probe.layers[0]
    assert len(hidden.gradient_norms) == len(probed.probe.epochs) >= 3
    # A subclassed model has no graph to read hidden outputs from: gradients only.
    assert bool(hidden.dead_fractions) == (kind == "sequential")


def saturating_fit() -> tuple[ProbeStats, Any, np.ndarray]:
    """Two tanh layers fitting a separable task to a loss of 1e-4 with Adam at 0.05: their
    outputs end 75 % at the bounds (under 1 % before the first step)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype("float32")
    y = (x[:, :4].sum(axis=1) > 0).astype("float32")
    keras.utils.set_random_seed(0)
    tanh = [keras.layers.Dense(16, "tanh"), keras.layers.Dense(16, "tanh")]
    model = keras.Sequential([keras.Input((8,)), *tanh, keras.layers.Dense(1, "sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy")
    probe = ProbeInstrumentation(x, y, seed=0)
    fitted = model.fit(x, y, epochs=40, batch_size=16, verbose=0, callbacks=[probe])
    return probe.stats(), history_from_logs(fitted.history, source="fit"), y


def test_units_that_saturate_while_the_task_is_learned_are_not_a_fault() -> None:
    stats, history, y = saturating_fit()
    assert max(layer.saturated_fractions[-1] for layer in stats.layers[:2]) > 0.5
    targets = summarise_targets(y)
    measured = ModelProfile("sigmoid", 1, "binary_crossentropy", False, targets,
                            constant_loss=constant_loss("binary_crossentropy", y))
    assert saturation.check(history, RuleContext(probe=stats, model=measured)) == []
    # Unmeasured targets (nothing to say the task was learned): the saturation is named.
    (finding,) = saturation.check(history, RuleContext(probe=stats))
    assert finding.evidence["saturated_fraction_first"] < 0.5  # type: ignore[operator]
    # A loss a tenth of guessing's or more is not a task learned: named too.
    last_loss = history.get("loss")
    assert last_loss is not None
    unlearned = replace(measured, constant_loss=last_loss.values[-1] * 5)
    assert len(saturation.check(history, RuleContext(probe=stats, model=unlearned))) == 1
