"""The diagnosis-guided search on a cheap deterministic objective (tests/search_objective.py):
directions narrow ranges, competing fixes are alternatives, the first trials are the
catalogue's, the epoch budget holds, NaN is the worst loss, leave-one-out drops what adds
nothing."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import pytest

from advisor.findings import Finding, Severity
from advisor.fix import Direction, Knob, Param, Skipped
from advisor.search import (
    NO_FIX,
    Budget,
    Changes,
    KnobSpace,
    ReportEpoch,
    SearchResult,
    SearchSpace,
    TrialOutcome,
    TrialRecord,
    apply_changes,
    create_search_study,
    epochs_spent,
    open_space,
    run_trials,
    search,
    smallest_fix,
)
from tests.search_objective import Objective, fake_fix, final_loss, lookup


def finding(rule: str, *fixes: str, directions: dict[str, Direction] | None = None) -> Finding:
    return Finding(
        rule=rule,
        code="TST001",
        severity=Severity.WARNING,
        message=rule,
        fixes=fixes,
        directions=directions or {},
    )


def lr_knob(*findings: Finding, centres: dict[str, float] | None = None) -> KnobSpace:
    (knob,) = open_space(findings, lookup, centres=centres).knobs_of("lower-lr")
    return knob


DOWN: dict[str, Direction] = {"lower-lr": "down"}
UP: dict[str, Direction] = {"lower-lr.factor": "up"}


def test_divergence_opens_the_learning_rate_only_downward() -> None:
    knob = lr_knob(finding("divergence", "lower-lr", directions=DOWN))
    assert (knob.low, knob.high, knob.direction) == (1e-4, 1.0, "down")
    assert knob.start == 0.1  # the catalogue's factor lies on the opened side


def test_a_stall_opens_it_upward_and_mirrors_the_catalogue_factor() -> None:
    knob = lr_knob(finding("stalled", "lower-lr", directions=UP))
    assert (knob.low, knob.high, knob.direction) == (1.0, 1e3, "up")
    assert knob.start == pytest.approx(10.0)  # x0.1 would be the wrong way: x10 instead


def test_without_a_direction_both_sides_stay_centred_on_the_range_test() -> None:
    # No direction and no range test: a decade each side of the user's rate, as a tuner would.
    knob = lr_knob(finding("plateau", "lower-lr"))
    assert (knob.low, knob.high, knob.start, knob.log) == (0.1, 10.0, 0.1, True)
    knob = lr_knob(finding("plateau", "lower-lr"), centres={"lower-lr.factor": 3.0})
    assert (knob.low, knob.high, knob.start) == (pytest.approx(0.3), pytest.approx(30.0), 3.0)


def test_a_direction_keeps_its_side_and_starts_at_a_range_test_on_that_side() -> None:
    knob = lr_knob(finding("divergence", "lower-lr", directions=DOWN),
                   centres={"lower-lr.factor": 1e-3})
    assert (knob.low, knob.high, knob.start) == (1e-4, 1.0, 1e-3)
    # A suggestion on the other side contradicts the finding: the catalogue's start stays.
    knob = lr_knob(finding("stalled", "lower-lr", directions=UP),
                   centres={"lower-lr.factor": 0.01})
    assert (knob.low, knob.high, knob.centred_on) == (1.0, 1e3, None)
    assert knob.start == pytest.approx(10.0)
    # One beyond the opened side's end is that way still: the start goes to the end, not back
    # to the catalogue's guess (SGD at 1e-4 on an embedding measured x3500).
    knob = lr_knob(finding("stalled", "lower-lr", directions=UP),
                   centres={"lower-lr.factor": 3500.0})
    assert (knob.low, knob.high, knob.start) == (1.0, 1e3, 1e3)


def test_findings_pointing_opposite_ways_leave_both_sides_open() -> None:
    knob = lr_knob(
        finding("divergence", "lower-lr", directions=DOWN),
        finding("stalled", "lower-lr", directions=UP),
    )
    assert (knob.low, knob.high, knob.direction) == (1e-4, 1e3, "either")


def test_competing_fixes_share_one_slot_and_explained_findings_only_add_extras() -> None:
    space = open_space(
        [finding("overfitting", "dropout", "l2", "early-stopping")],
        lookup,
        explained=[finding("plateau", "early-stopping", "lower-lr")],
    )
    assert [(slot.fixes, slot.optional) for slot in space.slots] == [
        (("dropout", "l2"), False),
        (("early-stopping",), False),
        (("lower-lr",), True),
    ]
    starts = space.start_params()
    chosen = [{p: v for p, v in s.items() if p.startswith("fix:") and v != NO_FIX} for s in starts]
    assert chosen == [
        {"fix:dropout|l2": "dropout"},
        {"fix:dropout|l2": "l2"},
        {"fix:early-stopping": "early-stopping"},
    ]


def test_data_repairs_of_different_defects_start_together_before_each_alone() -> None:
    space = open_space(
        [finding("missing-values", "impute"), finding("scale", "standardize", "lower-lr")], lookup
    )
    chosen = [
        {p: v for p, v in s.items() if p.startswith("fix:") and v != NO_FIX}
        for s in space.start_params()
    ]
    assert chosen == [
        {"fix:impute": "impute", "fix:standardize": "standardize"},
        {"fix:impute": "impute"},
        {"fix:standardize": "standardize"},
        {"fix:lower-lr": "lower-lr"},
    ]
    assert SearchSpace.from_dict(space.to_dict()) == space
    alone = open_space([finding("scale", "standardize", "lower-lr")], lookup)
    assert len(alone.start_params()) == 2  # one data repair: nothing to join


def test_the_search_stays_inside_the_opened_range_and_never_stacks_competitors() -> None:
    space = open_space(
        [finding("divergence", "lower-lr", directions=DOWN), finding("overfit", "dropout", "l2")],
        lookup,
    )
    objective = Objective(epochs=9)
    result = search(space, Budget(user_epochs=9, multiple=6), objective, baseline=_probe(9))
    assert len(objective.calls) > 5
    for changes, _ in objective.calls:
        assert not {"dropout", "l2"} <= set(changes)
        if "lower-lr" in changes:
            assert 1e-4 <= float(changes["lower-lr"]["factor"]) <= 1.0
    assert "lower-lr" in result.best.changes


def test_the_catalogue_trials_run_first_and_the_probe_is_reused() -> None:
    space = open_space([finding("overfit", "dropout", "l2"), finding("d", "lower-lr")], lookup)
    objective = Objective(epochs=4)
    result = search(space, Budget(user_epochs=4), objective, baseline=_probe(4))
    first = [changes for changes, _ in objective.calls[:3]]
    assert first == [
        {"dropout": {"rate": 0.3}},
        {"l2": {"l2": 1e-3}},
        {"lower-lr": {"factor": 0.1}},
    ]
    assert result.trials[0].state == "reused" and result.trials[0].epochs == 0
    assert result.baseline is result.trials[0]


def test_the_budget_is_never_exceeded_and_pruned_trials_count_their_epochs() -> None:
    space = open_space(
        [finding("overfit", "dropout", "l2", "early-stopping"), finding("d", "lower-lr")], lookup
    )
    objective = Objective(epochs=9)
    budget = Budget(user_epochs=9, multiple=3)
    result = search(space, budget, objective, baseline=_probe(9))
    ran = sum(epochs for _, epochs in objective.calls)
    assert ran == result.epochs_spent <= budget.epochs == 27
    # It stopped because no whole run fitted any more: no trial was cut short by the budget.
    assert result.epochs_spent > budget.epochs - budget.user_epochs
    assert all(t.state != "budget" for t in result.trials)
    pruned = [t for t in result.trials if t.state == "pruned"]
    assert pruned and all(0 < t.epochs < 9 for t in pruned)
    assert result.trials_run == len(objective.calls)


def test_a_diverging_trial_is_worse_than_any_finite_one() -> None:
    space = open_space([finding("f", "diverge", "early-stopping")], lookup)
    diverged = TrialOutcome(math.nan, 3, curve=(math.nan,) * 3)
    budget = Budget(user_epochs=3, multiple=3)
    result = search(space, budget, Objective(epochs=3), baseline=diverged)
    # The user's run diverged, and so does the "diverge" fix: the finite useless fix wins.
    assert set(result.best.changes) == {"early-stopping"} and math.isfinite(result.best.loss)
    assert any(math.isnan(t.loss) and t.changes for t in result.trials)


def test_without_a_probe_the_baseline_is_trained_first() -> None:
    space = open_space([finding("f", "l2")], lookup)
    objective = Objective(epochs=2)
    result = search(space, Budget(user_epochs=2, multiple=2), objective)
    assert [changes for changes, _ in objective.calls] == [{}, {"l2": {"l2": 1e-3}}]
    assert result.baseline is not None and result.baseline.loss == pytest.approx(1.25)
    assert result.best.changes == {"l2": {"l2": 1e-3}}


def test_leave_one_out_drops_a_change_that_buys_nothing() -> None:
    best_changes = {"dropout": {"rate": 0.2}, "early-stopping": {"patience": 5}}
    result = SearchResult(
        trials=(_record(0, {}, 1.0), _record(1, best_changes, 0.8)),
        best=_record(1, best_changes, 0.8),
        baseline=_record(0, {}, 1.0),
        epochs_spent=1,
        budget_epochs=3,
        seconds=0.0,
    )
    smallest = smallest_fix(result, lambda c, r: TrialOutcome(final_loss(c), 1), min_delta=0.01)
    assert dict(smallest.changes) == {"dropout": {"rate": 0.2}}
    bought = {(c.fix, c.kept): round(c.bought, 6) for c in smallest.contributions}
    assert bought == {("dropout", True): 0.2, ("early-stopping", False): 0.0}
    assert smallest.trials_run == 2 and smallest.epochs_spent == 2  # the baseline was reused


def test_leave_one_out_keeps_every_change_that_adds() -> None:
    best_changes = {"dropout": {"rate": 0.2}, "relu-he": {"activation": "relu"}}
    best = _record(1, best_changes, final_loss(best_changes))
    result = SearchResult((_record(0, {}, 1.0), best), best, None, 1, 3, 0.0)
    smallest = smallest_fix(result, lambda c, r: TrialOutcome(final_loss(c), 1), min_delta=0.01)
    assert dict(smallest.changes) == best_changes
    assert {c.fix: round(c.bought, 6) for c in smallest.contributions} == {
        "dropout": 0.2,
        "relu-he": 0.1,
    }


def _record(number: int, changes: Changes, loss: float) -> TrialRecord:
    return TrialRecord(number, changes, 1, loss, "complete")


def _probe(epochs: int) -> TrialOutcome:
    curve = tuple(1.0 + 0.5 / e for e in range(1, epochs + 1))
    return TrialOutcome(curve[-1], epochs, curve=curve)


def test_a_direction_narrows_other_knobs_only_relative_to_a_given_user_value() -> None:
    down = finding("overfit", "l2", directions={"l2": "down"})
    (unknown,) = open_space([down], lookup).knobs_of("l2")
    assert (unknown.low, unknown.high, unknown.direction) == (1e-6, 1e-1, "either")
    (known,) = open_space([down], lookup, neutral={"l2.l2": 1e-4}).knobs_of("l2")
    assert (known.low, known.high, known.direction) == (1e-6, 1e-4, "down")
    assert known.start == pytest.approx(1e-5)  # the default 1e-3, mirrored below the user's


def test_a_space_survives_the_round_trip_through_a_shared_study() -> None:
    space = open_space(
        [finding("o", "dropout", "l2", "relu-he"), finding("d", "lower-lr", directions=UP)],
        lookup,
        explained=[finding("p", "early-stopping")],
    )
    assert SearchSpace.from_dict(space.to_dict()) == space


def test_changes_are_applied_in_order_and_skipped_fixes_named() -> None:
    def append(step: str) -> Callable[[Any, Mapping[str, Param]], Any]:
        return lambda plan, params: [*plan, (step, dict(params))]

    fixes = {
        "first": fake_fix("first", Knob("rate", 0.3)),
        "skips": fake_fix("skips"),
        "second": fake_fix("second"),
    }
    fixes = {
        "first": replace(fixes["first"], apply=append("first")),
        "skips": replace(fixes["skips"], apply=lambda plan, params: Skipped("skips", "no layer")),
        "second": replace(fixes["second"], apply=append("second")),
    }
    changes = {"first": {"rate": 0.5}, "skips": {}, "second": {}}
    plan, skipped = apply_changes([], changes, fixes.__getitem__)  # type: ignore[arg-type]
    assert plan == [("first", {"rate": 0.5}), ("second", {})]
    assert skipped == (Skipped("skips", "no layer"),)


def test_a_finding_with_directions_says_so_in_its_json() -> None:
    assert "directions" not in finding("o", "l2").to_dict()
    document = finding("d", "lower-lr", directions=DOWN).to_dict()
    assert document["directions"] == {"lower-lr": "down"}


def test_a_trial_that_fails_is_recorded_with_the_epochs_it_spent() -> None:
    space = open_space([finding("f", "l2")], lookup)
    study = create_search_study(space, Budget(user_epochs=3), baseline=_probe(3))

    def crashes(changes: Changes, report_epoch: ReportEpoch) -> TrialOutcome:
        report_epoch(1, 0.9)
        raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError, match="out of memory"):
        run_trials(study, space, Budget(user_epochs=3), crashes)
    assert epochs_spent(study) == 1


def test_the_result_says_what_the_search_spent() -> None:
    space = open_space([finding("overfit", "dropout", "l2", "early-stopping")], lookup)
    budget = Budget(user_epochs=9, multiple=2)
    result = search(space, budget, Objective(epochs=9), baseline=_probe(9))
    assert result.spent().startswith(f"{result.trials_run} trials (")
    assert f"{result.epochs_spent} of 18 epochs" in result.spent()


def test_a_trial_longer_than_the_users_run_is_cut_where_the_budget_ends() -> None:
    space = open_space([finding("f", "l2")], lookup)
    objective = Objective(epochs=15)  # e.g. a train-longer fix
    result = search(space, Budget(user_epochs=9, multiple=1.5), objective, baseline=_probe(9))
    (trained,) = [t for t in result.trials if t.state != "reused"]
    assert (trained.state, trained.epochs, result.epochs_spent) == ("budget", 13, 13)
    assert result.best.state == "reused"  # a cut trial is not comparable, so cannot win


def test_leave_one_out_keeps_the_change_that_stops_a_divergence() -> None:
    def loss(changes: Changes) -> float:
        return 0.5 if "lower-lr" in changes else math.nan

    best_changes = {"lower-lr": {"factor": 0.01}, "early-stopping": {"patience": 5}}
    baseline = _record(0, {}, math.nan)
    result = SearchResult((baseline, _record(1, best_changes, 0.5)), _record(1, best_changes, 0.5),
                          baseline, 2, 3, 0.0)
    smallest = smallest_fix(result, lambda c, r: TrialOutcome(loss(c), 1), min_delta=0.01)
    assert list(smallest.changes) == ["lower-lr"]
    assert {c.fix: c.bought for c in smallest.contributions} == {
        "lower-lr": math.inf,  # against the diverging user's plan
        "early-stopping": 0.0,
    }


def test_competing_fixes_stack_only_when_asked() -> None:
    space = open_space([finding("o", "dropout", "l2")], lookup, stack_competing=True)
    assert [slot.fixes for slot in space.slots] == [("dropout",), ("l2",)]


def test_the_best_start_is_retried_with_the_learning_rate_added() -> None:
    # No finding calls for the learning rate; it joins as the retry fix, an optional extra.
    space = open_space([finding("overfit", "dropout", "l2")], lookup, retry_with="lower-lr")
    assert [(slot.fixes, slot.optional) for slot in space.slots][-1] == (("lower-lr",), True)
    objective = Objective(epochs=4)
    search(space, Budget(user_epochs=4, multiple=5), objective, baseline=_probe(4))
    first = [changes for changes, _ in objective.calls[:4]]
    # dropout at 0.3 (loss 0.9) ties with l2 (0.9): ties go to the earlier trial. Nothing says
    # which way the rate is off: it is retried on both sides of the user's, x0.32 and x3.2.
    assert first[:2] == [{"dropout": {"rate": 0.3}}, {"l2": {"l2": 1e-3}}]
    assert [set(c) for c in first[2:]] == [{"dropout", "lower-lr"}] * 2
    assert [c["dropout"]["rate"] for c in first[2:]] == [0.3, 0.3]
    factors = [float(c["lower-lr"]["factor"]) for c in first[2:]]
    assert factors == [pytest.approx(10**-0.5), pytest.approx(10**0.5)]
    # A knob a finding located is retried once, where the located range starts.
    space = open_space([finding("overfit", "dropout"), finding("s", "lower-lr", directions=UP)],
                       lookup, retry_with="lower-lr")
    (retry,) = space.retry_params(space.start_params()[0])
    assert retry["fix:lower-lr"] == "lower-lr" and retry["lower-lr.factor"] == pytest.approx(10)


def test_an_unlocated_rate_is_retried_where_the_best_starts_own_range_test_puts_it() -> None:
    # The user's model learnt at no rate (nothing located the rate): the best start's own
    # model is measured, and the retry goes there once, clipped into the searched x0.1..x10.
    space = open_space([finding("overfit", "dropout", "l2")], lookup, retry_with="lower-lr")
    measured_on: list[Changes] = []

    def locate(changes: Changes) -> float | None:
        measured_on.append(changes)
        return 14.0

    objective = Objective(epochs=4)
    search(space, Budget(user_epochs=4, multiple=5), objective, baseline=_probe(4),
           locate=locate)
    assert measured_on == [{"dropout": {"rate": 0.3}}]  # the best start, measured once
    retry = objective.calls[2][0]
    assert retry["dropout"] == {"rate": 0.3} and retry["lower-lr"]["factor"] == pytest.approx(10)
    # A sweep that cannot say leaves the retry on both sides of the user's rate.
    objective = Objective(epochs=4)
    search(space, Budget(user_epochs=4, multiple=5), objective, baseline=_probe(4),
           locate=lambda changes: None)
    factors = [float(c["lower-lr"]["factor"]) for c, _ in objective.calls[2:4]]
    assert factors == [pytest.approx(10**-0.5), pytest.approx(10**0.5)]
    # A rate the findings located is not measured again.
    located = open_space([finding("overfit", "dropout"), finding("s", "lower-lr", directions=UP)],
                         lookup, retry_with="lower-lr")
    search(located, Budget(user_epochs=4, multiple=5), Objective(epochs=4), baseline=_probe(4),
           locate=locate)
    assert len(measured_on) == 1


def test_start_trials_run_whole_only_while_the_budget_holds_them_and_one_more() -> None:
    from advisor.search.study import start_changes, whole_starts

    space = open_space([finding("overfit", "dropout", "l2")], lookup)
    assert whole_starts(space, Budget(user_epochs=4, multiple=3)) == start_changes(space)
    # Two starts and one trial more do not fit in twice the user's run: the pruner judges them.
    assert whole_starts(space, Budget(user_epochs=4, multiple=2.5)) == []

