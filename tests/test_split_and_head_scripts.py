"""The fixture scripts of the validation-split, majority-class, offset and two-head faults, as
`advisor diagnose --no-fix` reports them (real tiny Keras fits, a few epochs each)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from advisor.cli import main
from tests.conftest import FIXTURES, validate_json_output

SCRIPTS = FIXTURES / "scripts"


def diagnose(capsys: pytest.CaptureFixture[str], script: str, *args: str) -> dict[str, Any]:
    """The JSON document of ``advisor diagnose --no-fix`` on a fixture script."""
    main(["diagnose", str(SCRIPTS / script), "--no-fix", "--format", "json", *args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    document: dict[str, Any] = json.loads(captured.out)
    validate_json_output(document)
    return document


def findings(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    assert document["errors"] == []
    (report,) = document["reports"]
    return {f["rule"]: f for f in report["findings"]}


def test_sorted_wine_with_validation_split_gets_the_validation_shift_finding(
    capsys: pytest.CaptureFixture[str],
) -> None:
    found = findings(diagnose(capsys, "sorted_wine_split.py", "--epochs", "4"))
    shift = found["validation-shift"]
    assert shift["code"] == "ADV204" and shift["fixes"] == ["shuffle-split"]
    assert shift["evidence"]["validation_source"] == "validation_split"
    assert shift["evidence"]["val_shares"]["2"] == 1.0


def test_unscaled_validation_data_is_named_and_explains_the_climbing_val_loss(
    capsys: pytest.CaptureFixture[str],
) -> None:
    found = findings(diagnose(capsys, "unscaled_validation.py", "--epochs", "4"))
    shift = found["validation-shift"]
    assert shift["fixes"] == [] and shift["evidence"]["validation_source"] == "validation_data"
    assert shift["evidence"]["spread_ratio"] > 10
    # The curve rules read the unscaled validation: what they find is listed as its consequence.
    assert all(f["explained_by"] == "validation-shift" for f in found.values() if f is not shift)


def test_the_majority_class_script_is_named_with_class_weights(
    capsys: pytest.CaptureFixture[str],
) -> None:
    found = findings(diagnose(capsys, "majority_class.py"))
    assert found["majority-class"]["fixes"] == ["class-weight"]
    assert "validation-shift" not in found


def test_features_in_65_to_70_get_standardize(capsys: pytest.CaptureFixture[str]) -> None:
    found = findings(diagnose(capsys, "offset_features.py", "--epochs", "3"))
    assert found["scale-imbalance"]["evidence"]["offset_ratio"] > 10
    assert found["scale-imbalance"]["fixes"] == ["standardize"]


# Needs advisor/training/fit.py compile_model to pass a dict of per-output metrics through as a
# dict (capture keeps it one; compile_model still iterates it as a list of metrics).
def test_two_heads_with_dict_metrics_name_the_raw_regression_head(
    capsys: pytest.CaptureFixture[str],
) -> None:
    found = findings(diagnose(capsys, "two_heads_raw_target.py", "--epochs", "3"))
    assert found["target-scale"]["evidence"]["head"] == "progression"


@pytest.mark.parametrize(
    "metrics",
    [{"a": "mae", "b": ["accuracy"]}, [["mae"], ["accuracy"]], ["mae"], "mae"],
    ids=["dict-per-output", "nested-lists", "list", "one"],
)
def test_captured_compile_metrics_keep_the_structure_given(metrics: Any) -> None:
    import keras
    import numpy as np

    from advisor.capture.fit_data import FitData
    from advisor.capture.plan_builder import PlanRequest, build_plan
    from advisor.capture.script import CompileCall

    inputs = keras.Input(shape=(2,))
    model = keras.Model(
        inputs,
        {
            "a": keras.layers.Dense(1, name="a")(inputs),
            "b": keras.layers.Dense(1, name="b")(inputs),
        },
    )
    x, y = (
        np.zeros((40, 2), "float32"),
        {"a": np.zeros(40, "float32"), "b": np.zeros(40, "float32")},
    )
    request = PlanRequest(
        model=model,
        compile=CompileCall(kwargs={"loss": "mse", "metrics": metrics}, optimizer="adam"),
        data=FitData(x, y, None, None, "advisor_holdout", 8),
        fit_kwargs={"epochs": 2},
    )
    captured = build_plan(request).compile.metrics
    expected = (
        metrics
        if isinstance(metrics, dict)
        else tuple(metrics if isinstance(metrics, list) else [metrics])
    )
    assert captured == expected and type(captured) is type(expected)


def sorted_wine_plan() -> Any:
    """The plan of `sorted_wine_split.py`'s fit: load_wine's rows (sorted by class), a random
    quarter set aside as the script's test part, `validation_split=0.25` on the rest."""
    import keras
    import numpy as np
    from sklearn.datasets import load_wine

    from advisor.capture.plan_builder import build_plan
    from advisor.python_api import plan_request

    data = load_wine()
    x, y = data.data.astype("float32"), data.target.astype("int64")
    test = np.zeros(len(y), dtype=bool)
    test[np.random.default_rng(0).choice(len(y), size=len(y) // 4, replace=False)] = True
    model = keras.Sequential([keras.Input(shape=(13,)), keras.layers.Dense(3, "softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    request = plan_request(model, (x[~test], y[~test]), validation_split=0.25, epochs=2)
    return build_plan(request), x[~test], y[~test]


def test_sorted_wine_holdout_is_drawn_from_all_rows_and_shuffle_split_changes_validation() -> None:
    import numpy as np

    from advisor.fixes.apply import apply_fixes
    from advisor.fixes.deciding import deciding_slice
    from advisor.outcomes.scores import Slice

    plan, x, y = sorted_wine_plan()
    data = plan.data
    counts = np.bincount(y, minlength=3)
    # Holdout and selection slice: stratified draws from all rows, class 2 included.
    for part in (data.y_holdout, data.y_select):
        assert np.all(np.abs(np.bincount(part, minlength=3) - counts * len(part) / len(y)) <= 1)
    # The baseline validates as Keras would: the last quarter of the rows left, all class 2.
    assert set(data.y_val.tolist()) == {2}
    assert len(data.y_val) == len(data.y_train) + len(data.y_val) - int(
        np.floor((len(data.y_train) + len(data.y_val)) * 0.75)
    )
    seen = [
        {tuple(r) for r in part.tolist()}
        for part in (data.x_train, data.x_val, data.x_select, data.x_holdout)
    ]
    assert sum(map(len, seen)) == len(x) and set().union(*seen) == {tuple(r) for r in x.tolist()}
    shuffled, skipped = apply_fixes(plan, ("shuffle-split",))
    assert not skipped and shuffled.applied_fixes == ("shuffle-split",)
    fixed = shuffled.data
    assert set(fixed.y_val.tolist()) == {0, 1, 2} and len(fixed.y_val) == len(data.y_val)
    assert {tuple(r) for r in np.concatenate([fixed.x_train, fixed.x_val]).tolist()} == (
        seen[0] | seen[1]
    )
    # Both are decided on the same rows, which neither trains nor validates on.
    assert deciding_slice(plan, shuffled) == Slice.SELECTION_ALONE != deciding_slice(plan)
    assert np.array_equal(fixed.x_select, data.x_select)
    assert np.array_equal(fixed.x_holdout, data.x_holdout)
