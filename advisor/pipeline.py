"""The advisor's run from a captured fit to a report: plan, probe, rules, then the fix step.

``advisor diagnose`` and ``advise()`` both end here, so the two ways in cannot drift apart.
Training happens only in :mod:`advisor.training.fit`; this module orders the steps, times them and
shows a Rich progress bar on stderr while fits run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from advisor.capture import data_profile
from advisor.capture.plan_builder import PlanRequest, build_plan, infer_n_classes
from advisor.engine import require_judgeable, run_rules
from advisor.errors import AdvisorError, error_summary
from advisor.plan import TrainingPlan
from advisor.report.summary import AdviceReport, ProbeSummary
from advisor.rule import Rule, RuleContext
from advisor.training.fit import EpochHook, FitOutcome, FitRunner, fit_plan


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
    # Retrain the chosen plan on all training data for the model handed out (export, advise).
    refit: bool = False
    rules: Sequence[Rule] | None = None
    progress: Console | None = None


def run_advice(
    request: PlanRequest, *, source: str, options: AdviceOptions, capture_seconds: float = 0.0
) -> AdviceReport:
    started = time.perf_counter()
    plan = build_plan(request)
    profile = data_profile.profile(
        request.data.x,
        request.data.y,
        model_normalizes_inputs=plan.model.normalizes_inputs,
        token_inputs=plan.model.token_inputs,
    )
    context = RuleContext(n_classes=infer_n_classes(plan), data=profile)
    prepared = time.perf_counter()
    with _progress(options.progress) as run_fit:
        try:
            probe = run_fit(plan, options.seed, "probing fit")
        except Exception as error:
            raise AdvisorError(
                f"{source}: the probing fit failed with {error_summary(error)}; "
                "check that the script's own model.fit runs on this data"
            ) from error
        probed = time.perf_counter()
        require_judgeable(probe.history)
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
            epochs=probe.history.n_epochs, seconds=probed - prepared, history=probe.history
        ),
        validation=plan.data.validation_source,
        notes=(*plan.notes, *probe.notes),
        timings=timings,
        improvement=improvement,
    )
    if fix_error is not None:
        raise IncompleteAdvice(f"{source}: {fix_error}", report)
    return report


@contextmanager
def _progress(console: Console | None) -> Iterator[FitRunner]:
    """A fit runner that drives one progress bar per fit, on ``console`` (stderr)."""
    if console is None:
        yield lambda plan, seed, label: fit_plan(plan, seed=seed)
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("epochs"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:

        def run_fit(plan: TrainingPlan, seed: int, label: str) -> FitOutcome:
            task = progress.add_task(label, total=plan.epochs)
            hook: EpochHook = lambda epoch: progress.update(task, completed=epoch)  # noqa: E731
            outcome = fit_plan(plan, seed=seed, on_epoch=hook)
            progress.update(task, completed=plan.epochs, visible=False)
            return outcome

        yield run_fit
