"""The data rules on real datasets' statistics: which inputs must trigger them, which must not."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from sklearn import datasets

from advisor.capture.data_profile import profile
from advisor.history import history_from_logs
from advisor.keras_model.inspect import input_rescaling, normalizes_inputs
from advisor.rule import RuleContext
from rules import missing_values, scale_imbalance

HISTORY = history_from_logs({"loss": [1.0, 0.5], "val_loss": [1.1, 0.6]}, source="probe")


def findings(rule: object, x: np.ndarray, y: np.ndarray, *, normalizes: bool = False) -> list:
    data = profile(x, y, model_normalizes_inputs=normalizes)
    return rule.check(HISTORY, RuleContext(data=data))  # type: ignore[attr-defined,no-any-return]


def load(name: str) -> tuple[np.ndarray, np.ndarray]:
    bunch = getattr(datasets, f"load_{name}")()
    return bunch.data, bunch.target


@pytest.mark.parametrize("name", ["wine", "breast_cancer"])
def test_raw_features_on_different_scales_trigger(name: str) -> None:
    (finding,) = findings(scale_imbalance, *load(name))
    assert finding.fixes == ("standardize",)
    assert finding.evidence["spread_ratio"] >= scale_imbalance.MAX_SPREAD_RATIO


@pytest.mark.parametrize("name", ["iris", "diabetes", "digits"])
def test_comparable_scales_do_not_trigger(name: str) -> None:
    assert findings(scale_imbalance, *load(name)) == []


def test_large_raw_pixels_trigger_on_magnitude_alone() -> None:
    x = np.random.default_rng(0).uniform(0, 255, (100, 16))
    (finding,) = findings(scale_imbalance, x, np.zeros(100))
    assert "magnitude" in finding.message


def test_a_model_that_normalises_its_inputs_is_not_flagged() -> None:
    assert findings(scale_imbalance, *load("wine"), normalizes=True) == []


def rescaled_findings(x: np.ndarray, model: keras.Model) -> list:
    """scale-imbalance's findings on inputs ``x`` fed to ``model`` (its own scaling read from
    the real Keras layers, as diagnose reads it)."""
    data = profile(
        x, np.zeros(len(x)), model_normalizes_inputs=normalizes_inputs(model),
        model_input_rescaling=input_rescaling(model),
    )  # fmt: skip
    return scale_imbalance.check(HISTORY, RuleContext(data=data))


def image_model(*front: keras.layers.Layer) -> keras.Model:
    return keras.Sequential(
        [keras.Input((8, 8, 1)), *front, keras.layers.Conv2D(4, 3), keras.layers.Flatten(),
         keras.layers.Dense(10, activation="softmax")]
    )  # fmt: skip


def test_pixels_already_in_0_1_rescaled_by_the_model_again_trigger_without_a_fix() -> None:
    x = load("digits")[0].reshape(-1, 8, 8, 1) / 16.0
    (finding,) = rescaled_findings(x, image_model(keras.layers.Rescaling(1 / 255)))
    assert finding.fixes == () and "scaled twice" in finding.message
    assert finding.evidence["largest_rescaled"] == pytest.approx(1 / 255)
    # Two layers in front multiply: 1/16 then 1/255.
    twice = image_model(keras.layers.Rescaling(1 / 16), keras.layers.Rescaling(1 / 255))
    assert input_rescaling(twice) == pytest.approx(1 / 16 / 255)


def test_raw_pixels_rescaled_once_or_standardised_by_the_model_do_not_trigger() -> None:
    raw = load("digits")[0].reshape(-1, 8, 8, 1) * 255 / 16.0
    assert rescaled_findings(raw, image_model(keras.layers.Rescaling(1 / 255))) == []
    scaled = raw / 255
    to_plus_minus_one = keras.layers.Rescaling(2.0, offset=-1.0)
    assert rescaled_findings(scaled, image_model(to_plus_minus_one)) == []
    shifted = keras.layers.Rescaling(1 / 255, offset=-1.0)  # values near -1: nothing shrunk
    assert rescaled_findings(scaled, image_model(shifted)) == []
    normalised = image_model(keras.layers.Rescaling(1 / 255), keras.layers.Normalization())
    assert input_rescaling(normalised) is None
    assert rescaled_findings(scaled, normalised) == []


def test_nan_and_inf_inputs_are_counted_per_feature() -> None:
    x, y = load("iris")
    x = x.copy()
    x[:5, 0] = np.nan
    x[7, 2] = np.inf
    (finding,) = findings(missing_values, x, y)
    assert finding.evidence["nonfinite_inputs"] == 6
    assert finding.evidence["per_feature"] == {"x[0]": 5, "x[2]": 1}
    assert finding.fixes == ("impute",)


def test_nan_targets_are_reported_without_an_automatic_fix() -> None:
    x, y = load("iris")
    y = y.astype(float)
    y[3] = np.nan
    (finding,) = findings(missing_values, x, y)
    assert "drop those rows" in finding.message and finding.fixes == ()


def test_clean_data_has_no_missing_values_finding() -> None:
    assert findings(missing_values, *load("breast_cancer")) == []
