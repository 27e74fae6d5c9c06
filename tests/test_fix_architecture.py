"""A fix is one declared value: registered like a rule, applied as plan edits, rebuilt generically.

bigger-model is the example of a fix added as one module plus one registration: it widens the
hidden layers of real Sequential and functional models, and is skipped for subclassed ones.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from advisor.fix_registry import load_fixes
from advisor.fixes.apply import apply_fixes
from advisor.keras_model.inspect import model_kind, normalizes_inputs
from advisor.plan import ModelRecipe
from advisor.report.snippet import code_snippet
from advisor.training.rebuild import fresh_model
from tests.test_fixes import make_plan

ROOT = Path(__file__).resolve().parent.parent
X = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")


def dense_units(model: keras.Model) -> list[int]:
    return [layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def sequential() -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(6, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )


def functional() -> keras.Model:
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(6, activation="relu")(keras.layers.Dense(8, "relu")(inputs))
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))


def widened(source: keras.Model, **knobs: float) -> keras.Model:
    recipe = ModelRecipe(
        model_kind(source), source, normalizes_inputs(source), hidden_activations=("relu",)
    )
    plan, skipped = apply_fixes(make_plan(model=recipe), ("bigger-model",), {"bigger-model": knobs})
    assert skipped == [] and plan.applied_fixes == ("bigger-model",)
    rebuilt = fresh_model(recipe, plan.edits)
    assert rebuilt.notes == ()
    return rebuilt.model


@pytest.mark.parametrize("make", [sequential, functional], ids=["sequential", "functional"])
def test_bigger_model_widens_hidden_layers_and_adds_extra_ones(make: type[keras.Model]) -> None:
    source = make()
    model = widened(source, factor=2.0, extra_layers=1)
    # Hidden layers doubled, one more like the last hidden one, the output layer kept.
    assert dense_units(model) == [16, 12, 12, 1]
    assert dense_units(source) == [8, 6, 1]  # the user's model is untouched
    predictions = np.asarray(model.predict(X, verbose=0))
    assert predictions.shape == (16, 1) and ((predictions > 0) & (predictions < 1)).all()


def test_bigger_model_defaults_quadruple_the_width_and_subclassed_models_are_skipped() -> None:
    # x4 first: doubling a 2-unit bottleneck before 10 classes leaves it one (narrow_hidden_layer).
    assert dense_units(widened(sequential())) == [32, 24, 1]
    _, skipped = apply_fixes(make_plan("subclassed"), ("bigger-model",))
    assert "subclassed" in skipped[0].reason


def test_an_adopted_augmentation_is_in_the_code_shown_to_the_user() -> None:
    images = np.zeros((10, 8, 8, 1))
    plan = make_plan(data=make_plan().data.__class__(*(images,) * 6, "validation_split"))
    fixed, skipped = apply_fixes(plan, ("augment",))
    assert skipped == []
    snippet = code_snippet(fixed, model=None)
    assert "keras.layers.RandomTranslation(height_factor=0.1" in snippet
    assert "keras.layers.RandomZoom(" in snippet
    compile(snippet, "<snippet>", "exec")


def test_pure_decisions_import_without_keras() -> None:
    code = (
        "import sys\n"
        "import advisor.capture.probe_length, advisor.fixes.candidates, advisor.fixes.comparison\n"
        "import advisor.fixes.apply, advisor.fixes.docs, advisor.task\n"
        "import advisor.outcomes.improvement\n"
        "from advisor.fixes.candidates import scoring_loss\n"
        "from advisor.findings import FIX_IDS\n"
        "assert scoring_loss((), 'mse') == 'mse'\n"
        "assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules, 'keras imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# Keras' own argument names that equal a fix id (``L1L2(l1, l2)``, the l2 fix's knob ``l2``,
# ``TextVectorization(standardize, split)``): Keras vocabulary, not a fix id spelt again.
KERAS_ARGUMENT = re.compile(
    r"Knob\(\"l2\"|params, \"l2\"|\(\"l1\", \"l2\"\)|l2=|\(\"standardize\", \"split\"\)"
)


def test_no_fix_id_is_spelt_in_more_than_two_modules_and_none_is_over_450_lines() -> None:
    sources = {
        path: KERAS_ARGUMENT.sub("", path.read_text())
        for folder in ("advisor", "rules")
        for path in (ROOT / folder).rglob("*.py")
    }
    for fix_id in load_fixes().ids:
        quoted = re.compile(rf"[\"']{re.escape(fix_id)}[\"']")
        spelt = [p for p, text in sources.items() if "advisor" in p.parts and quoted.search(text)]
        assert len(spelt) <= 2, (fix_id, spelt)
    assert [p for p, text in sources.items() if text.count("\n") > 450] == []


def test_training_imports_nothing_from_the_fix_layer() -> None:
    for path in (ROOT / "advisor" / "training").glob("*.py"):
        assert "advisor.fixes" not in path.read_text(), path
    for path in (ROOT / "advisor" / "outcomes").glob("*.py"):
        assert not re.search(r"from advisor\.(fixes|training|report)", path.read_text()), path
