"""The claim "improved" answers to the user's own metrics too: a lower holdout loss with a
compiled metric worse beyond noise, or a classifier at chance, is not an improvement."""

from __future__ import annotations

import numpy as np

from advisor.fixes.claims import claim_objections, majority_share
from advisor.fixes.selection import claimed_result
from advisor.outcomes.scores import Comparison, MetricComparison, Slice


def holdout(*metrics: MetricComparison, repeats: int = 1) -> Comparison:
    loss = MetricComparison("loss", 0.70, 0.0, 0.50, 0.0, higher_is_better=False)
    return Comparison((loss, *metrics), repeats, "improved", 1e-4, "t", "lower", Slice.HOLDOUT)


def accuracy(before: float, after: float) -> MetricComparison:
    return MetricComparison("accuracy", before, 0.0, after, 0.0, higher_is_better=True)


def test_a_lower_loss_with_accuracy_worse_beyond_noise_is_not_claimed() -> None:
    worse = holdout(accuracy(0.90, 0.80))
    objections = claim_objections(worse, samples=400, majority_share=0.5)
    assert objections and "accuracy is worse beyond noise" in objections[0]
    assert claimed_result(worse, objections) == "unconfirmed"


def test_an_accuracy_drop_within_noise_does_not_object() -> None:
    # 0.90 -> 0.88 on 100 samples is well inside two standard errors (about 0.06).
    assert claim_objections(holdout(accuracy(0.90, 0.88)), samples=100, majority_share=0.5) == ()
    assert claimed_result(holdout(accuracy(0.90, 0.88)), ()) == "improved"


def test_a_classifier_at_chance_is_never_improved() -> None:
    at_chance = holdout(accuracy(0.60, 0.62))  # better than before, but the majority is 0.6
    objections = claim_objections(at_chance, samples=200, majority_share=0.6)
    assert any("at chance" in o for o in objections)
    assert claimed_result(at_chance, objections) == "unconfirmed"
    # A regression has no chance level: the same numbers without classes do not object.
    assert claim_objections(at_chance, samples=200, majority_share=None) == ()


def test_an_error_metric_counts_only_beyond_seed_spread_and_the_minimum() -> None:
    mae = MetricComparison("mae", 1.00, 0.01, 1.20, 0.01, higher_is_better=False)
    assert claim_objections(holdout(mae, repeats=3), samples=100, majority_share=None)
    tiny = MetricComparison("mae", 1.00, 0.01, 1.02, 0.01, higher_is_better=False)
    assert claim_objections(holdout(tiny, repeats=3), samples=100, majority_share=None) == ()


def test_the_majority_share_reads_class_ids_binary_and_one_hot_targets() -> None:
    assert majority_share(np.array([0, 1, 1, 2])) == 0.5
    assert majority_share(np.array([0.0, 1.0, 1.0, 1.0])) == 0.75
    assert majority_share(np.eye(3)[[0, 0, 1, 2]]) == 0.5


def test_a_metric_that_broadcasts_its_targets_neither_objects_nor_hides_the_others() -> None:
    """rmse of every target against every prediction grows as a model stops predicting the
    mean: it stands for no model (rule metric-broadcast) and cannot veto; mae still can."""
    rmse = MetricComparison("rmse", 1.36, 0.0, 1.78, 0.0, higher_is_better=False)
    mae = MetricComparison("mae", 1.00, 0.0, 1.30, 0.0, higher_is_better=False)
    assert claim_objections(holdout(rmse), samples=300, majority_share=None) != ()
    skipped = claim_objections(holdout(rmse), samples=300, majority_share=None,
                               broadcasting=("rmse",))
    assert skipped == ()
    both = claim_objections(holdout(rmse, mae), samples=300, majority_share=None,
                            broadcasting=("rmse",))
    assert len(both) == 1 and both[0].startswith("mae is worse")
