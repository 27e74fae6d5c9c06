"""Search the fixes the findings open, decide on the best trial, then measure on the holdout.

The search (:mod:`advisor.fixes.search_step`) only chooses what is tried; the decision below
treats its best trial like any candidate, so the claim rules do not depend on it.

Every decision is made on the *selection data*, the validation slice and the selection slice
together (neither is trained on): which candidate is best, and whether it is adopted at all (a
gain beyond noise and above the minimum that counts, see :mod:`advisor.fixes.comparison`).
Pooling them gives the decision enough samples on small datasets. A plan that watches
validation (early stopping, LR decay) is flattered there, so a comparison with one is decided
on the selection slice alone (:mod:`advisor.fixes.deciding` says which slice). The *holdout* is
scored only after the decision, for the report; no number taken on it changes what the user
gets, so it stays an honest estimate. The baseline of seed ``s`` is the user's plan trained
with seed ``s`` (the probe is exactly that run for the first seed, so it is reused).

Data too small for a holdout (see :mod:`advisor.capture.fit_data`) is never refused: there is
no selection slice either, validation alone decides over several seeds, and since nothing the
decision did not see is left, the verdict is at most ``unconfirmed`` and says why. When the
script gave no validation either, every row is one the task needs: the decision is
cross-validated over all of them instead, the user's metrics may veto it there (nothing is
left to object later) and the model handed out trains on every row. How much evidence is
gathered (seeds added while a large gain is undecided) is :mod:`advisor.fixes.evidence`'s job.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from advisor.arrays import concat_slices, rows
from advisor.capture import model_profile
from advisor.findings import Finding
from advisor.fix import Skipped
from advisor.fixes.claims import claim_objections, majority_share
from advisor.fixes.comparison import compare
from advisor.fixes.deciding import SliceScores, deciding_slice
from advisor.fixes.evidence import (
    cross_validated_evidence,
    every_row,
    mean_scores,
    seeded_evidence,
)
from advisor.fixes.search_step import SearchStep, search_fixes
from advisor.outcomes.improvement import (
    Adopted,
    Candidate,
    FinalFit,
    Improvement,
    Result,
    SearchCost,
    Unaddressed,
)
from advisor.outcomes.scores import Comparison, MetricComparison, Slice
from advisor.plan import DataSplit, TrainingPlan
from advisor.plan_edits import SetEpochs, ShuffleBeforeSplit
from advisor.search.smallest import SmallestFix
from advisor.search.trials import DEFAULT_BUDGET_MULTIPLE, SearchResult
from advisor.search.worker import SharedSearch
from advisor.task import plan_task
from advisor.training.fit import FitOutcome, FitRequest, FitRunner
from advisor.training.streams import approximate_samples

HOLDOUT, VALIDATION, CROSS_VALIDATION = Slice.HOLDOUT, Slice.VALIDATION, Slice.CROSS_VALIDATION


def improve(
    plan: TrainingPlan,
    findings: Sequence[Finding],
    probe: FitOutcome,
    *,
    seed: int,
    repeats: int,
    run_fit: FitRunner,
    budget: float = DEFAULT_BUDGET_MULTIPLE,
    explained: Sequence[Finding] = (),
    shared: SharedSearch | None = None,
) -> Improvement:
    """Search the fixes the findings open (``budget`` times the user's epochs), then decide
    on the best trial exactly as on any candidate: selection data decides (the selection
    slice alone when a compared plan watches validation), the holdout is looked at only after."""
    # The search scores trials on one slice (see advisor.fixes.deciding); the evidence for the
    # decision may be gathered more widely (see advisor.fixes.evidence). Each model is scored
    # once per slice, whichever step asks.
    scores = SliceScores()
    step = search_fixes(
        plan, findings, probe, seed=seed, budget=budget, run_fit=run_fit,
        scores=scores, explained=explained, shared=shared,
    )
    loss, skipped, baseline_loss = step.loss, step.skipped, step.baseline_loss
    spent = None if step.result is None else search_cost(step.result, step.smallest)
    contributions = () if step.smallest is None else step.smallest.contributions
    tried = tuple(Candidate(t.plan.applied_fixes, t.loss, t.notes) for t in step.trained)
    if not step.trained:
        return replace(
            _without_candidates(plan, probe.model, findings, skipped, baseline_loss, scores),
            search=spent, searched_on=step.searched_on,
        )
    best_plan, best_model = step.trained[0].plan, step.trained[0].model
    decides = deciding_slice(plan, best_plan)
    if plan.data.cross_validates:
        evidence = cross_validated_evidence(plan, best_plan, seed=seed, run_fit=run_fit, loss=loss)
    else:
        # Without a holdout, several seeds are the only guard against a lucky draw.
        evidence = seeded_evidence(
            plan, best_plan, (probe.model, best_model), seed=seed,
            seeds=max(repeats, plan.data.min_repeats), run_fit=run_fit,
            score=lambda model, scored: scores(model, scored, decides, loss), where=decides,
        )
    decision = evidence.decision
    # Cross-validation leaves nothing to confirm on, so the user's metrics object already here.
    cross_validated = decision.where == CROSS_VALIDATION
    vetoes = _objections(plan, decision) if cross_validated and adopt(decision) else ()
    adopted: Adopted = "fixed" if adopt(decision) and not vetoes else "baseline"
    # Only now, with the decision made, is the holdout looked at: for the report alone. Data
    # too small for one has only the numbers that decided, which confirm nothing.
    holdout = None
    kept: dict[str, float] = {}
    if adopted == "fixed" and not plan.data.has_holdout:
        holdout = decision
    elif adopted == "fixed":
        holdout = compare(
            [scores(m, plan, HOLDOUT, loss) for m in evidence.baseline_models],
            [scores(m, best_plan, HOLDOUT, loss) for m in evidence.fixed_models],
            where=HOLDOUT,
        )
    elif cross_validated:
        kept = {m.name: m.baseline for m in decision.metrics}
    else:
        kept = mean_scores([scores(m, plan, HOLDOUT, loss) for m in evidence.baseline_models])
    chosen_plan, chosen_model = (
        (best_plan, best_model) if adopted == "fixed" else (plan, probe.model)
    )
    objections = vetoes or (() if holdout is None else _objections(plan, holdout))
    result = claimed_result(holdout, objections)
    return Improvement(
        baseline_plan=plan,
        chosen_plan=chosen_plan,
        chosen_model=chosen_model,
        adopted=adopted,
        skipped=skipped,
        candidates=tried,
        baseline_selection_loss=baseline_loss,
        decision=decision,
        holdout=holdout,
        kept_holdout=kept,
        result=result,
        reason=_reason(result, decision, holdout, best_plan.applied_fixes, objections),
        unaddressed=unaddressed(findings, chosen_plan.applied_fixes, _tried(step)),
        search=spent,
        searched_on=step.searched_on,
        evidence=evidence.sentence,
        contributions=contributions,
    )


def _tried(step: SearchStep) -> tuple[str, ...]:
    """Every fix a trial of the search trained, whole or stopped early."""
    planned = [t.plan.applied_fixes for t in step.trained]
    searched = [] if step.result is None else [r.changes for r in step.result.trials]
    return tuple(dict.fromkeys(fix for fixes in [*planned, *searched] for fix in fixes))


def search_cost(result: SearchResult, smallest: SmallestFix | None = None) -> SearchCost:
    """What the search spent, as the report states it (the leave-one-out's whole runs, beyond
    the budget, counted apart)."""
    return SearchCost(
        trials=result.trials_run,
        stopped_early=sum(1 for t in result.trials if t.state in ("pruned", "budget")),
        epochs=result.epochs_spent,
        budget_epochs=result.budget_epochs,
        seconds=result.seconds,
        leave_one_out_trials=0 if smallest is None else smallest.trials_run,
        leave_one_out_epochs=0 if smallest is None else smallest.epochs_spent,
    )


def adopt(decision: Comparison) -> bool:
    """The one rule that changes what the user gets: the best candidate is adopted only when
    the data that decides (see :mod:`advisor.fixes.deciding`) shows its
    loss lower beyond noise *and* by at least the minimum that counts (``effect ==
    "improved"``). Nothing measured on the holdout takes part."""
    return decision.where != HOLDOUT and decision.effect == "improved"


def _without_candidates(
    plan: TrainingPlan,
    model: Any,
    findings: Sequence[Finding],
    skipped: tuple[Skipped, ...],
    baseline_loss: float,
    scores: SliceScores,
) -> Improvement:
    reason = (
        "no applicable fix for these findings: your plan is kept"
        if findings
        else "no finding suggests a fix: your plan is kept"
    )
    return Improvement(
        baseline_plan=plan,
        chosen_plan=plan,
        chosen_model=model,
        adopted="baseline",
        skipped=skipped,
        candidates=(),
        baseline_selection_loss=baseline_loss,
        decision=None,
        holdout=None,
        kept_holdout=mean_scores([scores(model, plan, HOLDOUT, plan.compile.loss)]),
        result="no-fix",
        reason=reason,
        unaddressed=unaddressed(findings, ()),
    )


def claimed_result(holdout: Comparison | None, objections: tuple[str, ...]) -> Result:
    """The claim: "improved" only when the holdout, which decided nothing, confirms it (never
    on validation alone, which made the decision) and the user's own metrics do not object
    (see :mod:`advisor.fixes.claims`)."""
    if holdout is None:
        return "not-adopted"
    if holdout.where == HOLDOUT and holdout.effect == "improved" and not objections:
        return "improved"
    if holdout.where == HOLDOUT and holdout.effect == "worse":
        return "worse"
    return "unconfirmed"


def _objections(plan: TrainingPlan, holdout: Comparison) -> tuple[str, ...]:
    """What the holdout's metrics (cross-validation's, on tiny data) say against claiming
    the fix's gain."""
    if holdout.where == CROSS_VALIDATION:
        _, y, _ = every_row(plan.data)
    elif plan.data.streams is not None:
        # A streamed holdout is not in memory: the class shares and the count are those of
        # the bounded training sample (fewer samples: wider, more cautious noise margins).
        y = plan.data.y_train
    else:
        _, y, _ = plan.data.measurement()
    classifies = plan_task(plan, y).n_classes is not None
    return claim_objections(
        holdout,
        samples=rows(y),
        majority_share=majority_share(y) if classifies else None,
        broadcasting=_broadcasting(plan),
    )


def _broadcasting(plan: TrainingPlan) -> tuple[str, ...]:
    """The plan's metric functions that broadcast (n,) targets against (n, 1) outputs, as the
    model profile the rules read measures them."""
    profile = model_profile.profile(plan)
    return () if profile is None else profile.broadcasting_metrics


def _reason(
    result: Result,
    decision: Comparison,
    holdout: Comparison | None,
    fixes: tuple[str, ...],
    objections: tuple[str, ...] = (),
) -> str:
    names = " + ".join(fixes)
    if holdout is None and objections:
        return (
            f"{names} was not adopted: {decision.statement}, but {'; '.join(objections)}. "
            "Your plan is kept; no fix is exported or suggested"
        )
    if holdout is None:
        return (
            f"{names} was not adopted: {decision.statement}. Your plan is kept; no fix is "
            "exported or suggested"
        )
    if holdout.where == CROSS_VALIDATION:
        return (
            f"{names} was adopted on cross-validation over all your rows: "
            f"{decision.statement}. No row was left untouched, so nothing confirms the gain: "
            "weak, optimistic evidence"
        )
    if holdout.where == VALIDATION:
        return (
            f"{names} was adopted on the validation data: {decision.statement}. The data is too "
            "small to hold out samples no decision saw, so nothing confirms the gain: weak, "
            "optimistic evidence"
        )
    adopted = f"{names} was adopted on the {decision.where} ({_loss_change(decision.loss)})"
    if result == "improved":
        return f"{adopted}; confirmed on the {HOLDOUT}: {holdout.statement}"
    if objections and holdout.effect == "improved":
        return (
            f"{adopted}; the {HOLDOUT} loss is lower ({holdout.statement}), but "
            f"{'; '.join(objections)}: not claimed as an improvement"
        )
    if result == "worse":
        return f"{adopted}, but the {HOLDOUT} says it is worse: {holdout.statement}"
    return f"{adopted}, but the {HOLDOUT} does not confirm a gain: {holdout.statement}"


def _loss_change(loss: MetricComparison) -> str:
    """The decision's loss change in a few words; a share of a NaN/inf baseline means nothing."""
    if math.isfinite(loss.baseline) and math.isfinite(loss.fixed):
        return f"{loss.relative:+.1%} loss"
    return f"loss {loss.baseline:.4g} -> {loss.fixed:.4g}"


def unaddressed(
    findings: Sequence[Finding], applied: tuple[str, ...], tried: Iterable[str] = ()
) -> tuple[Unaddressed, ...]:
    """Findings none of whose suggested fixes is in ``applied``: the report must not let a kept
    baseline or another finding's fix read as if it had dealt with them. A consequence is
    dealt with through its cause (``explained_by``) when the cause's fix was applied.
    ``tried``: every fix some trial trained, so each finding says which of its own were."""
    fixed = {f.rule for f in findings if set(f.fixes) & set(applied)}
    trained = set(tried)
    return tuple(
        Unaddressed(
            f.code,
            f.rule,
            str(f.evidence.get("likely_cause") or f.message),
            tuple(f.fixes),
            tuple(fix for fix in f.fixes if fix in trained),
        )
        for f in findings
        if f.rule not in fixed and f.explained_by not in fixed
    )


def refit_on_all_training_data(
    improvement: Improvement, *, seed: int, run_fit: FitRunner
) -> Improvement:
    """The chosen plan trained as the user's own run would be: their epochs, on all the data
    the script trained on (see :func:`_export_data`)."""
    plan = improvement.chosen_plan
    data = plan.data
    final_data, validation, merge_validation = _export_data(plan)
    if data.streams is not None:
        streams = data.streams.for_final_fit(merge_validation=merge_validation)
        final_data = replace(final_data, streams=streams)
    final_plan = _with_export_epochs(replace(plan, data=final_data))
    epochs = final_plan.fit_epochs
    # Nothing to add (no slice carved out of training, the user's epochs already measured):
    # the measured fit of the chosen plan, same seed, is the export's fit already.
    samples = rows(final_data.y_train)
    retrain = data.streams is not None or samples != rows(data.y_train) or (
        final_data.script_rows is not None
        or final_plan.epochs != plan.epochs
        or final_plan.fit_epochs != plan.fit_epochs
    )
    outcome = (
        run_fit(FitRequest(final_plan, seed, "final fit on all training data")) if retrain else None
    )
    model = improvement.chosen_model if outcome is None else outcome.model
    loss = None if outcome is None else outcome.history.get("loss")
    if final_data.streams is not None:  # a streamed dataset is counted by its batches
        counted = approximate_samples(final_data.streams.train, plan.batch_size or 1)
        samples = samples if counted is None else counted
    final = FinalFit(
        epochs=epochs,
        measured_epochs=plan.fit_epochs,
        samples=samples,
        validation=validation,
        retrained=retrain,
        diverged_at=None if loss is None else loss.first_nonfinite_epoch(),
    )
    return replace(improvement, final_model=model, final_fit=final)


def _export_data(plan: TrainingPlan) -> tuple[DataSplit, str, bool]:
    """The data the export trains and validates on, that validation in words, and whether the
    advisor's own validation slice was merged into training. Under ``validation_split``: the
    rows the script's own fit (the patched one too) trains and validates on. Otherwise the
    selection and holdout slices back in, and the validation slice too when the advisor carved
    it and no callback of the plan watches it."""
    data = plan.data
    if data.script_rows is not None:
        shuffled = plan.edits_of(ShuffleBeforeSplit)
        script_split = data.as_the_script_splits(shuffled[-1].seed if shuffled else None)
        validation = "your validation_split validates, on the rows it takes in your script"
        return script_split, validation + (" once shuffled" if shuffled else ""), False
    slices = [(data.x_train, data.y_train, data.w_train)]
    slices.append((data.x_select, data.y_select, data.w_select))
    slices.append((data.x_holdout, data.y_holdout, data.w_holdout))
    merge_validation = data.validation_source == "advisor_holdout" and (
        data.cross_validates or not plan.watches_validation
    )
    if merge_validation:
        slices.append((data.x_val, data.y_val, data.w_val))
        validation = (
            "every row is trained on (the decision was cross-validated)"
            if data.cross_validates
            else "the validation slice the advisor carved is trained on too"
        )
    elif data.validation_source == "advisor_holdout":
        validation = (
            "the validation slice the advisor carved stays out, as the plan's callbacks watch it"
        )
    else:
        validation = "your validation data stays validation data"
    x, y, w = concat_slices([s for s in slices if s[0] is not None])
    return replace(data, x_train=x, y_train=y, w_train=w), validation, merge_validation


def _with_export_epochs(plan: TrainingPlan) -> TrainingPlan:
    """``plan`` with the epochs the export trains: the user's, and a budget a fix set for the
    measured fits (train-longer's ``SetEpochs``) kept and scaled from the probe's epochs to the
    user's, so the export runs what the chosen trial ran, as long relative to the user's run."""
    user = plan.user_epochs or plan.epochs
    edits = tuple(
        replace(edit, epochs=max(1, round(edit.epochs * user / plan.epochs)))
        if isinstance(edit, SetEpochs)
        else edit
        for edit in plan.edits
    )
    return replace(plan, epochs=user, edits=edits)
