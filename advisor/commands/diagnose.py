"""``advisor diagnose SCRIPT...``: capture each script's fit, diagnose, fix, retrain, report.

Several scripts may be named (a pre-commit hook passes every matching file); each gets its own
report, a script that cannot be run becomes one error line, and the exit code is the worst of
all: 2 if any script could not be diagnosed, else 1 if any finding reaches ``--fail-on``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from rich.console import Console

from advisor.capture.fit_data import DEFAULT_MAX_SAMPLES, fit_data
from advisor.capture.plan_builder import PlanRequest
from advisor.capture.report_stdout import report_only_stdout
from advisor.capture.script import FitCall, capture_script
from advisor.commands.check import exit_code
from advisor.commands.local_workers import LocalWorkers
from advisor.errors import AdvisorError, checked_seed, error_summary
from advisor.findings import Finding, Severity
from advisor.outcomes.improvement import check_export_path
from advisor.outcomes.report import AdviceReport
from advisor.patch.facts import InputKind
from advisor.patch.report import print_diff, script_patch
from advisor.pipeline import AdviceOptions, IncompleteAdvice, run_advice
from advisor.registry import load_catalogue
from advisor.report.formats import load_format
from advisor.report.located import Located
from advisor.report.results import Results
from advisor.report.summary import report_loss_plot
from advisor.report.tables import print_problem
from advisor.search.trials import DEFAULT_BUDGET_MULTIPLE
from advisor.search.worker import SharedSearch, open_storage


def run_diagnose(
    args: argparse.Namespace, script_argv: list[str], *, out: TextIO, err: Console
) -> int:
    with report_only_stdout(), _storage_for_jobs(args):
        return _run_diagnose(args, script_argv, out=out, err=err)


@contextmanager
def _storage_for_jobs(args: argparse.Namespace) -> Iterator[None]:
    """``--jobs`` without ``--storage``: the processes share an SQLite file in a temporary
    folder, removed with it after the run."""
    if args.jobs == 1 or args.storage is not None:
        yield
        return
    with tempfile.TemporaryDirectory(prefix="fit-advisor-") as folder:
        args.storage = f"sqlite:///{Path(folder) / 'search.db'}"
        yield


def _run_diagnose(
    args: argparse.Namespace, script_argv: list[str], *, out: TextIO, err: Console
) -> int:
    catalogue = load_catalogue()
    rules = catalogue.selection(args.select, args.ignore)
    checked_seed(args.seed, name="--seed")
    # Made absolute and proven writable now: a script may chdir, and training takes minutes.
    export = plot = None
    if args.export is not None:
        if args.no_fix:
            raise AdvisorError(
                "--export saves the fixed model; it cannot be combined with --no-fix"
            )
        if len(args.scripts) > 1:
            raise AdvisorError("--export needs exactly one SCRIPT")
        export = check_export_path(args.export)
    if args.diff and (args.no_fix or len(args.scripts) > 1 or args.format != "rich"):
        raise AdvisorError(
            "--diff prints the patch of one SCRIPT; it cannot be combined with --no-fix or --format"
        )
    if args.plot is not None:
        from advisor.report.plot_file import check_plot_path

        plot = check_plot_path(args.plot, inputs=args.scripts)
    options = AdviceOptions(
        seed=args.seed,
        fix=not args.no_fix,
        repeats=args.repeats,
        budget=next(
            b for b in (args.budget, args.settings.budget, DEFAULT_BUDGET_MULTIPLE) if b is not None
        ),
        refit=export is not None,
        rules=rules,
        progress=err,
    )
    reports: list[AdviceReport] = []
    errors: list[str] = []
    for script in args.scripts:
        workers = LocalWorkers(args.jobs, seed=args.seed, err=err)
        try:
            with working_folder_kept():
                reports.append(
                    diagnose_script(
                        script,
                        script_argv,
                        args.epochs,
                        replace(
                            options,
                            rules=catalogue.selection(
                                args.select, args.settings.ignored_in(script)
                            ),
                            shared=_shared(args, script, script_argv, workers),
                        ),
                        fit_number=args.fit,
                        max_samples=args.max_samples or DEFAULT_MAX_SAMPLES,
                    )
                )
        except IncompleteAdvice as error:
            reports.append(error.report)
            errors.append(str(error))
        except AdvisorError as error:
            errors.append(str(error))
        except Exception as error:  # a bug of the advisor: one line, exit 2, next script
            errors.append(
                f"{script}: internal error of the advisor ({error_summary(error)}); "
                "try --no-fix, or report it with the script"
            )
        finally:
            errors.extend(workers.wait())
    for problem in errors:
        print_problem(err, problem)
    for problem in _write_files(reports, export, plot, err=err, diagnosed=not errors):
        errors.append(problem)
        print_problem(err, problem)
    if args.diff:
        return 2 if errors else print_diff(reports[0], out, err)
    located = [Located(r.source, r.findings, r.fit_line) for r in reports]
    results = Results("diagnose", located, errors=errors, rules=rules, reports=reports)
    load_format(args.format).write(results, out)
    findings: list[Finding] = [f for report in reports for f in report.findings]
    return exit_code(findings, fail_on=Severity(args.fail_on), had_errors=bool(errors))


def _write_files(
    reports: Sequence[AdviceReport],
    export: Path | None,
    plot: Path | None,
    *,
    err: Console,
    diagnosed: bool,
) -> list[str]:
    """Save ``--export`` and ``--plot``; each failure is one error line, and the report is
    printed all the same."""
    problems: list[str] = []
    improvement = reports[0].improvement if reports and diagnosed else None
    if export is not None and improvement is not None:
        what = "the fixed model" if improvement.adopted == "fixed" else "your plan, retrained"
        try:
            improvement.export(export)
            caution = f" (caution: {improvement.caution})" if improvement.caution else ""
            print_problem(err, f"saved {what} to {export}{caution}", kind="info")
        except AdvisorError as error:
            problems.append(str(error))
    if plot is not None and reports:
        from advisor.report.plot_file import write_plot

        try:
            write_plot(report_loss_plot(reports[0]), plot, err=err)
        except AdvisorError as error:
            problems.append(str(error))
    return problems


def _shared(
    args: argparse.Namespace, script: Path, script_argv: list[str], workers: LocalWorkers
) -> SharedSearch | None:
    """``--storage`` (or ``--jobs``): the script's search in a new study of that storage,
    named so that it cannot clash, with what a worker needs to capture the same plan."""
    if args.storage is None:
        return None
    open_storage(args.storage)
    return SharedSearch(
        storage=args.storage,
        study_name=f"advisor-{script.stem}-{secrets.token_hex(4)}",
        capture={
            "script": str(script.resolve()),
            "argv": script_argv,
            "cwd": os.getcwd(),
            "fit": args.fit,
            "max_samples": args.max_samples or DEFAULT_MAX_SAMPLES,
        },
        announce=workers.announce,
    )


@contextmanager
def working_folder_kept() -> Iterator[None]:
    """The working folder as it was before a script (which may ``os.chdir``) ran."""
    folder = os.getcwd()
    try:
        yield
    finally:
        os.chdir(folder)


def diagnose_script(
    script: Path,
    script_argv: list[str],
    epochs: int | None,
    options: AdviceOptions,
    *,
    fit_number: int = 1,
    max_samples: int = DEFAULT_MAX_SAMPLES,
) -> AdviceReport:
    started = time.perf_counter()
    request, call = captured_request(
        script, script_argv, epochs, fit_number=fit_number, max_samples=max_samples
    )
    report = run_advice(
        request,
        source=str(script),
        options=options,
        capture_seconds=time.perf_counter() - started,
    )
    line = _line(call.where)
    patch = script_patch(script, report.improvement, line, inputs=_input_kind(request, call))
    return replace(report, fit_line=line, patch=patch)


def _input_kind(request: PlanRequest, call: FitCall) -> InputKind:
    """What the fit trained on, for the patch to adapt an input step on it."""
    if request.data.columns:  # capture kept a DataFrame's column names
        return "frame"
    import tensorflow as tf  # loaded already: the script's fit ran

    x = call.args[0] if call.args else call.kwargs.get("x")
    return "dataset" if isinstance(x, tf.data.Dataset) else "arrays"


def captured_request(
    script: Path, script_argv: list[str], epochs: int | None, *, fit_number: int, max_samples: int
) -> tuple[PlanRequest, FitCall]:
    """Run ``script`` up to its ``fit_number``-th fit and take what the plan is built from,
    and the call itself (where it is, what it was given); a worker captures its plan the same
    way."""
    call = capture_script(script, script_argv, fit_number=fit_number)
    assert call.compile is not None  # capture_script refuses uncompiled models
    data = fit_data(call.args, call.kwargs, max_samples=max_samples)
    request = PlanRequest(
        model=call.model,
        compile=call.compile,
        data=replace(data, notes=(*call.notes, *data.notes)),
        fit_kwargs=call.kwargs,
        epochs=epochs,
    )
    return request, call


def _line(where: str) -> int | None:
    """The line number of a ``script.py:LINE`` location (None when only the file is known)."""
    number = where.rpartition(":")[2]
    return int(number) if number.isdigit() else None

