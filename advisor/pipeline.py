"""The advisor's run from a captured fit to a report: plan, probe, rules, then the fix step.

``advisor diagnose`` and ``advise()`` both end here, so the two ways in cannot drift apart.
Training happens only in :mod:`advisor.training.fit`; this module orders the steps, times them and
shows a Rich progress bar on stderr while fits run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from advisor.capture import data_profile, model_profile
from advisor.capture.plan_builder import PlanRequest, build_plan
from advisor.capture.probe_length import epochs_note, extended_probe_epochs
from advisor.engine import model_findings, require_judgeable, run_rules
from advisor.errors import AdvisorError, error_summary
from advisor.history import TrainingHistory
from advisor.outcomes.report import AdviceReport, ProbeSummary
from advisor.rule import Rule, RuleContext
from advisor.search.trials import DEFAULT_BUDGET_MULTIPLE
from advisor.search.worker import SharedSearch
from advisor.task import plan_task
from advisor.training.fit import EpochHook, FitOutcome, FitRequest, FitRunner, run

# The label of the one fit that is instrumented (gradients, dead and saturated units).
PROBE_LABEL = "probing fit"


class IncompleteAdvice(AdvisorError):
    """The fix step failed after the diagnosis was made; ``report`` holds the findings so far.

    The command line prints the report *and* the one-line error (exit code 2), so a failure in
    a fix never loses the findings that were already made.
    """

    def __init__(self, message: str, report: AdviceReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class AdviceOptions:
    seed: int = 0
    fix: bool = True
    repeats: int = 1
    # The search's epochs, in multiples of the user's run.
    budget: float = DEFAULT_BUDGET_MULTIPLE
    # Retrain the chosen plan on all training data for the model handed out (export, advise).
    refit: bool = False
    rules: Sequence[Rule] | None = None
    progress: Console | None = None
    # The search's study in a storage that workers share (None: in this process, in memory).
    shared: SharedSearch | None = None


def run_advice(
    request: PlanRequest, *, source: str, options: AdviceOptions, capture_seconds: float = 0.0
) -> AdviceReport:
    started = time.perf_counter()
    plan = build_plan(request)
    profile = data_profile.profile(
        request.data.x,
        request.data.y,
        model_normalizes_inputs=plan.model.normalizes_inputs,
        model_input_rescaling=plan.model.input_rescaling,
        token_inputs=plan.model.token_inputs,
        y_val=request.data.y_val,
        x_val=request.data.x_val,
        validation_source=request.data.validation_source,
        output_names=tuple(getattr(request.model, "output_names", None) or ()),
        columns=request.data.columns,
    )
    context = RuleContext(
        n_classes=plan_task(plan).n_classes,
        data=profile,
        model=model_profile.profile(plan),
        model_heads=model_profile.head_profiles(plan),
    )
    prepared = time.perf_counter()
    histories: dict[tuple[str, ...], TrainingHistory] = {}
    with _progress(options.progress) as progress_fit:
        run_fit = _recording(progress_fit, histories)
        probe_epochs = plan.epochs
        try:
            probe = run_fit(FitRequest(plan, options.seed, PROBE_LABEL, instrument=True))
            while request.epochs is None and (longer := extended_probe_epochs(plan, probe.history)):
                plan = replace(plan, epochs=longer)
                label = f"{PROBE_LABEL}, continued to {longer} epochs"
                probe = run_fit(
                    FitRequest(plan, options.seed, label, instrument=True, resume=probe)
                )
        except Exception as error:
            if isinstance(error, AdvisorError):
                raise
            raise _probe_failed(error, context, options.rules, source) from error
        epochs = epochs_note(plan, probe_epochs=probe_epochs)
        probed = time.perf_counter()
        require_judgeable(probe.history)
        context = replace(context, probe=probe.probe)
        findings = run_rules(probe.history, context, rules=options.rules)
        judged = time.perf_counter()
        improvement = None
        fix_error = None
        if options.fix:
            from advisor.fixes.selection import improve, refit_on_all_training_data

            try:
                improvement = improve(
                    plan,
                    findings,
                    probe,
                    seed=options.seed,
                    repeats=options.repeats,
                    run_fit=run_fit,
                    budget=options.budget,
                    shared=options.shared,
                )
                if options.refit:
                    improvement = refit_on_all_training_data(
                        improvement, seed=options.seed, run_fit=run_fit
                    )
            except AdvisorError as error:
                fix_error = str(error)
            except Exception as error:  # a bug of the advisor: keep the findings, say so
                fix_error = (
                    f"internal error in the fix step ({error_summary(error)}); the findings "
                    "above stand, run with --no-fix to skip the fixes"
                )
    finished = time.perf_counter()
    timings = {
        "capture": capture_seconds,
        "diagnosis": (prepared - started) + (judged - probed),
        "probe": probed - prepared,
        "fixes": finished - judged,
    }
    report = AdviceReport(
        source=source,
        findings=findings,
        probe=ProbeSummary(
            epochs=probe.history.n_epochs,
            seconds=probed - prepared,
            history=probe.history,
            stats=probe.probe,
        ),
        validation=plan.data.validation_source,
        notes=(*plan.notes, *([epochs] if epochs else []), *probe.notes),
        timings=timings,
        improvement=improvement,
        fix_history=histories.get(improvement.applied) if improvement else None,
    )
    if fix_error is not None:
        raise IncompleteAdvice(f"{source}: {fix_error}", report)
    return report


def _probe_failed(
    error: Exception, context: RuleContext, rules: Sequence[Rule] | None, source: str
) -> AdvisorError:
    """One line: why Keras refused to fit, and what the model rules see without training (or,
    when they see nothing, where to look)."""
    found = "; ".join(f"{f.code} {f.rule}: {f.message}" for f in model_findings(context, rules))
    cause = f"; {found}" if found else "; check that the script's own model.fit runs on this data"
    return AdvisorError(f"{source}: the probing fit failed: {error_summary(error)}{cause}")


def _recording(run_fit: FitRunner, histories: dict[tuple[str, ...], TrainingHistory]) -> FitRunner:
    """``run_fit``, keeping the first whole history of each fixed plan (for the loss plot; a
    search trial the pruner stopped early is not one)."""

    def recorded(request: FitRequest) -> FitOutcome:
        outcome = run_fit(request)
        if request.plan.applied_fixes and not outcome.stopped:
            histories.setdefault(request.plan.applied_fixes, outcome.history)
        return outcome

    return recorded


@contextmanager
def _progress(console: Console | None) -> Iterator[FitRunner]:
    """A fit runner that drives one progress bar per fit, on ``console`` (stderr)."""
    if console is None:
        yield run
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("epochs"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:

        def run_fit(request: FitRequest) -> FitOutcome:
            epochs = request.plan.fit_epochs
            task = progress.add_task(request.label, total=epochs)
            hook: EpochHook = lambda epoch: progress.update(task, completed=epoch)  # noqa: E731
            outcome = run(request, on_epoch=hook)
            progress.update(task, completed=epochs, visible=False)
            return outcome

        yield run_fit
