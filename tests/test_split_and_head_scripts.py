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
