"""Fixes are pure plan transformations: what each one changes, and when it refuses."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from advisor.cli import main
from advisor.findings import FIX_IDS
from advisor.fix import FixKind, Skipped
from advisor.fix_registry import load_fixes
from advisor.fixes.apply import apply_fixes
from advisor.fixes.docs import fix_table
from advisor.outcomes.scores import TASK_LOSS
from advisor.plan import CompileSettings, DataSplit, ModelKind, ModelRecipe, TrainingPlan
from advisor.plan_edits import (
    CallbackSpec,
    KernelPenalty,
    PrependInputStep,
    ScaleLearningRate,
)
from advisor.registry import load_catalogue
from advisor.report.snippet import code_snippet

FIXES = load_fixes().ids


def make_plan(kind: ModelKind = "sequential", **changes: object) -> TrainingPlan:
    data = np.zeros((10, 3))
    plan = TrainingPlan(
        model=ModelRecipe(kind=kind, source=object(), normalizes_inputs=False),
        compile=CompileSettings(optimizer="adam", loss="mse"),
        data=DataSplit(data, data, data, data, data, data, "validation_split"),
        epochs=20,
    )
    return replace(plan, **changes)  # type: ignore[arg-type]


def test_every_fix_a_rule_can_suggest_is_a_registered_fix() -> None:
    fixes = load_fixes()
    assert not fixes.load_errors
    assert set(FIX_IDS) == set(fixes.ids) and len(fixes.ids) == 20
    assert list(fixes.ids) == sorted(fixes.ids)


def test_competing_and_data_fixes_come_from_the_registry() -> None:
    assert set(load_fixes().competing()) == {"dropout", "l2", "elastic-net"}
    assert load_fixes().find("l2").competes_with == ("dropout", "elastic-net")
    assert set(load_fixes().of_kind(FixKind.DATA)) == {
        "impute",
        "standardize",
        "scale-target",
        "class-weight",
        "shuffle-split",
    }


def test_every_knob_default_is_what_the_fix_applies_unsearched() -> None:
    plan, _ = apply_fixes(make_plan(), ("dropout", "l2", "lower-lr"))
    rate, penalty, factor = plan.edits
    assert (rate.rate, penalty.l2, factor.factor) == (0.3, 1e-3, 0.1)  # type: ignore[union-attr]
    tuned, _ = apply_fixes(make_plan(), ("dropout",), {"dropout": {"rate": 0.5}})
    assert tuned.edits[0].rate == 0.5  # type: ignore[union-attr]


def test_fixes_do_not_change_the_plan_they_are_given() -> None:
    plan = make_plan()
    before = repr(plan)
    apply_fixes(plan, tuple(FIXES))
    assert repr(plan) == before


def test_combined_fixes_all_land_in_one_plan_in_order() -> None:
    fixed, skipped = apply_fixes(make_plan(), ("standardize", "impute", "early-stopping", "l2"))
    assert fixed.applied_fixes == ("standardize", "impute", "early-stopping", "l2")
    steps = [edit.step for edit in fixed.edits_of(PrependInputStep)]
    assert steps == ["standardize", "impute"]  # the rebuild runs imputation first
    assert [c.name for c in fixed.all_callbacks()] == ["EarlyStopping"]
    assert fixed.edits_of(KernelPenalty)[0].l2 > 0
    assert skipped == []


def test_early_stopping_uses_keras_vocabulary_and_restores_best_weights() -> None:
    fixed, _ = apply_fixes(make_plan(), ("early-stopping",))
    kwargs = fixed.all_callbacks()[0].kwargs
    assert kwargs["monitor"] == "val_loss"
    assert kwargs["restore_best_weights"] is True
    assert 3 <= kwargs["patience"] < 20


def test_lower_lr_compounds_with_an_earlier_factor() -> None:
    earlier = (ScaleLearningRate("lower-lr", 0.5),)
    fixed, _ = apply_fixes(make_plan(edits=earlier), ("lower-lr",))
    factors = [edit.factor for edit in fixed.edits_of(ScaleLearningRate)]
    assert np.prod(factors) == pytest.approx(0.05)


@pytest.mark.parametrize(
    ("plan", "fix", "reason"),
    [
        (make_plan("subclassed"), "dropout", "subclassed"),
        (make_plan("subclassed"), "l2", "subclassed"),
        (make_plan(callbacks=(CallbackSpec("EarlyStopping", {}),)), "early-stopping", "already"),
        (make_plan(callbacks=(CallbackSpec("ReduceLROnPlateau", {}),)), "lr-decay", "already"),
        (
            make_plan(
                compile=CompileSettings(
                    optimizer={
                        "class_name": "SGD",
                        "config": {"learning_rate": {"class_name": "ExponentialDecay"}},
                    },
                    loss="mse",
                )
            ),
            "lr-decay",
            "schedule",
        ),
        (make_plan("subclassed"), "bigger-model", "subclassed"),
    ],
)
def test_fixes_that_cannot_apply_say_why(plan: TrainingPlan, fix: str, reason: str) -> None:
    fixed, skipped = apply_fixes(plan, (fix,))
    assert fixed == plan
    assert len(skipped) == 1 and isinstance(skipped[0], Skipped)
    assert reason in skipped[0].reason


def test_standardize_is_skipped_when_the_model_normalises_already() -> None:
    plan = make_plan(model=ModelRecipe("sequential", object(), normalizes_inputs=True))
    _, skipped = apply_fixes(plan, ("standardize",))
    assert "already normalises" in skipped[0].reason


def test_standardize_is_skipped_when_the_inputs_are_standardised_already() -> None:
    raw = np.random.default_rng(0).normal(50.0, 20.0, size=(200, 3))
    scaled = (raw - raw.mean(axis=0)) / raw.std(axis=0)
    scaled[:, 2] = 0.0  # a constant column, as a scaler leaves it, does not count

    def split(x: np.ndarray) -> DataSplit:
        return DataSplit(x, x, x, x, x, x, "validation_split")

    _, skipped = apply_fixes(make_plan(data=split(scaled[:160])), ("standardize",))
    assert "standardised already" in skipped[0].reason
    for unscaled in (raw, scaled * 3.0, scaled + 1.0):
        _, skipped = apply_fixes(make_plan(data=split(unscaled)), ("standardize",))
        assert skipped == []


def test_the_code_snippet_names_what_was_applied() -> None:
    fixed, _ = apply_fixes(make_plan(), ("standardize", "early-stopping", "lower-lr"))
    snippet = code_snippet(fixed, model=None)
    assert "keras.layers.Normalization" in snippet
    assert "keras.callbacks.EarlyStopping(monitor='val_loss'" in snippet
    assert "optimizer.learning_rate = float(optimizer.learning_rate) * 0.1" in snippet
    assert "#" not in snippet.split("  #")[0]  # code, not comments
    compile(snippet.replace("...", "None"), "<snippet>", "exec")  # it is valid Python


def test_the_readme_fix_table_is_the_registrys() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert fix_table(load_catalogue().rules) in readme


def test_explain_shows_the_settings_of_the_fixes_a_rule_names(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["explain", "oscillation"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    lr_decay = load_fixes().find("lr-decay")
    assert lr_decay.defaults()["factor"] == 0.5
    for knob in lr_decay.knobs:
        assert f"{knob.name}={knob.default}" in out


def test_l2_moves_every_val_loss_monitor_to_the_penalty_free_task_loss() -> None:
    users_stop = CallbackSpec("EarlyStopping", {"monitor": "val_loss", "patience": 3})
    plan = make_plan(callbacks=(users_stop,))
    fixed, _ = apply_fixes(plan, ("lr-decay", "l2"))
    assert {c.kwargs["monitor"] for c in fixed.all_callbacks()} == {f"val_{TASK_LOSS}"}
    later, _ = apply_fixes(make_plan(), ("l2", "early-stopping"))
    assert later.all_callbacks()[0].kwargs["monitor"] == f"val_{TASK_LOSS}"
    plain, _ = apply_fixes(make_plan(), ("early-stopping",))
    assert plain.all_callbacks()[0].kwargs["monitor"] == "val_loss"
