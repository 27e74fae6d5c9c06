"""Which way a finding points the search (issue 14): the learning rate up for steps too small,
and weaker regularisation for a model that cannot fit through its own heavy dropout.

The directions are judged on recorded real Keras runs (fixtures/histories/corpus and its unseen
re-recording, probe statistics included): SGD or Adam too slow to move must point the learning
rate up; dead units, vanishing gradients and a capacity-bound net must not. The
less-regularisation fix rewrites real tiny Keras models, and `advisor diagnose` puts it first on
the bundled Dropout(0.85) script.
"""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from advisor.capture.plan_builder import build_plan
from advisor.cli import main
from advisor.engine import run_rules
from advisor.findings import Finding
from advisor.fix_registry import load_fixes
from advisor.fixes.apply import apply_fixes
from advisor.history import history_from_logs
from advisor.model_facts import ModelProfile, summarise_targets
from advisor.plan import TrainingPlan
from advisor.probe_stats import ProbeStats
from advisor.python_api import plan_request
from advisor.rule import RuleContext
from advisor.search import open_space
from advisor.training.rebuild import fresh_model
from tests.conftest import FIXTURES

CORPUS = FIXTURES / "histories" / "corpus"
SCRIPTS = FIXTURES / "scripts"


def findings_of(name: str, model: ModelProfile | None = None) -> dict[str, Finding]:
    record = json.loads((CORPUS / name).read_text())
    probe = ProbeStats.from_dict(record["probe"])
    history = history_from_logs(record["history"], source=name)
    return {f.rule: f for f in run_rules(history, RuleContext(model=model, probe=probe))}


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("stalled-digits-sgd-tiny-lr.json", "stalled"),  # SGD at 1e-6
        ("unseen/underfitting-digits-sgd-strong.json", "underfitting"),  # SGD at 2e-3
        ("unseen/underfitting-diabetes-adam-strong.json", "underfitting"),  # Adam at 1e-4
    ],
)
def test_steps_too_small_for_live_gradients_point_the_learning_rate_up(
    name: str, rule: str
) -> None:
    finding = findings_of(name)[rule]
    assert finding.fixes[0] == "lower-lr"
    assert dict(finding.directions) == {"lower-lr": "up"}
    assert "the steps are too small" in finding.message
    assert finding.evidence["update_ratio_per_epoch"] < 0.02


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("dead-wine-relu-negbias.json", "stalled"),  # dead units: no gradient to step along
        ("vanishing-digits-ten-sigmoid-sgd.json", "stalled"),  # the gradient vanished
        ("unseen/underfitting-moons-adam-strong.json", "underfitting"),  # 4 units: capacity
    ],
)
def test_small_steps_without_live_gradients_or_big_steps_point_nowhere(
    name: str, rule: str
) -> None:
    finding = findings_of(name)[rule]
    assert "up" not in finding.directions.values()
    assert "too small" not in finding.message
    if rule == "underfitting":
        assert "lower-lr" not in finding.fixes


def test_a_learning_rate_pointed_up_is_searched_from_x1_to_x1000_starting_at_x10() -> None:
    finding = findings_of("stalled-digits-sgd-tiny-lr.json")["stalled"]
    space = open_space([finding], load_fixes().find)
    (factor,) = space.knobs_of("lower-lr")
    assert (factor.low, factor.high, factor.direction) == (1.0, 1000.0, "up")
    assert factor.start == pytest.approx(10.0)  # the catalogue's x0.1 mirrored above 1
    starts = [p for p in space.start_params() if "lower-lr.factor" in p]
    assert [p["lower-lr.factor"] for p in starts] == [factor.start]


def _profile(largest_dropout: float) -> ModelProfile:
    return ModelProfile("softmax", 10, "sparse_categorical_crossentropy", False,
                        summarise_targets(np.arange(10)), largest_dropout=largest_dropout)


def test_heavy_dropout_puts_less_regularisation_first_light_dropout_last() -> None:
    heavy = findings_of("stalled-digits-deep-sigmoid.json", _profile(0.85))["stalled"]
    light = findings_of("stalled-digits-deep-sigmoid.json", _profile(0.2))["stalled"]
    assert heavy.fixes[0] == "less-regularisation"
    assert light.fixes[-1] == "less-regularisation" and light.fixes[0] != "less-regularisation"


# ---- the fix on real tiny Keras models ------------------------------------------------------

X = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
Y = (X[:, 0] > 0).astype("float32")


def _plan(model: keras.Model) -> TrainingPlan:
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return build_plan(plan_request(model, (X, Y), epochs=2, validation_split=0.25))


def test_less_regularisation_scales_the_users_dropout_and_l2_and_keeps_the_rest() -> None:
    source = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8, activation="relu", kernel_regularizer=keras.regularizers.L2(0.1)),
            keras.layers.Dropout(0.85),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    plan = _plan(source)
    assert plan.model.dropout_rates == (0.85,) and plan.model.kernel_penalties == 1
    fixed, skipped = apply_fixes(plan, ("less-regularisation",), {"less-regularisation": {
        "factor": 0.2}})
    assert skipped == [] and fixed.applied_fixes == ("less-regularisation",)
    rebuilt = fresh_model(fixed.model, fixed.edits).model
    dropout = next(layer for layer in rebuilt.layers if isinstance(layer, keras.layers.Dropout))
    assert dropout.rate == pytest.approx(0.17)
    assert float(rebuilt.layers[0].kernel_regularizer.l2) == pytest.approx(0.02)
    assert [type(layer).__name__ for layer in rebuilt.layers] == ["Dense", "Dropout", "Dense"]
    assert source.layers[1].rate == 0.85  # the user's model is untouched


def test_less_regularisation_skips_quietly_a_model_without_regularisation() -> None:
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, "relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    _, skipped = apply_fixes(_plan(plain), ("less-regularisation",))
    assert skipped[0].quiet and "no Dropout or kernel penalty" in skipped[0].reason


def test_diagnose_tries_weaker_dropout_first_on_the_dropout_085_script(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["diagnose", "--format", "json", "--no-fix", "--epochs", "6",
          str(SCRIPTS / "heavy_dropout.py")])
    (report,) = json.loads(capsys.readouterr().out)["reports"]
    first_fixes = [f["fixes"][0] for f in report["findings"] if f["rule"] in (
        "stalled", "underfitting")]
    assert first_fixes == ["less-regularisation"]
