"""``advisor diagnose SCRIPT...``: capture each script's fit, diagnose, fix, retrain, report.

Several scripts may be named (a pre-commit hook passes every matching file); each gets its own
report, a script that cannot be run becomes one error line, and the exit code is the worst of
all: 2 if any script could not be diagnosed, else 1 if any finding reaches ``--fail-on``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from rich.console import Console

from advisor.capture.fit_data import DEFAULT_MAX_SAMPLES, fit_data
from advisor.capture.plan_builder import PlanRequest
from advisor.capture.script import capture_script
from advisor.commands.check import exit_code
from advisor.errors import AdvisorError, error_summary
from advisor.findings import Finding, Severity
from advisor.fixes.outcome import check_export_path
from advisor.patch.report import print_diff, script_patch
from advisor.pipeline import AdviceOptions, IncompleteAdvice, run_advice
from advisor.registry import load_catalogue
from advisor.report import formats
from advisor.report.located import Located
from advisor.report.summary import AdviceReport
from advisor.report.tables import print_problem
from advisor.rule import Rule


def run_diagnose(
    args: argparse.Namespace, script_argv: list[str], *, out: Console, err: Console
) -> int:
    rules = load_catalogue().selection(args.select, args.ignore)
    if args.export is not None:
        if args.no_fix:
            raise AdvisorError(
                "--export saves the fixed model; it cannot be combined with --no-fix"
            )
        if len(args.scripts) > 1:
            raise AdvisorError("--export needs exactly one SCRIPT")
        check_export_path(args.export)
    if args.diff and (args.no_fix or len(args.scripts) > 1 or args.format != "rich"):
        raise AdvisorError(
            "--diff prints the patch of one SCRIPT; it cannot be combined with --no-fix or --format"
        )
    if args.plot is not None:
        from advisor.report.plot_file import check_plot_path

        check_plot_path(args.plot, inputs=args.scripts)
    options = AdviceOptions(
        seed=args.seed,
        fix=not args.no_fix,
        repeats=args.repeats,
        refit=args.export is not None,
        rules=rules,
        progress=err,
    )
    reports: list[AdviceReport] = []
    errors: list[str] = []
    for script in args.scripts:
        try:
            reports.append(
                diagnose_script(
                    script,
                    script_argv,
                    args.epochs,
                    options,
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
    for problem in errors:
        print_problem(err, problem)
    if args.export is not None and not errors and reports[0].improvement is not None:
        improvement = reports[0].improvement
        try:
            improvement.export(args.export)
        except Exception as error:
            errors.append(f"{args.export}: the model could not be saved ({error_summary(error)})")
            print_problem(err, errors[-1])
        else:
            what = "the fixed model" if improvement.adopted == "fixed" else "your plan, retrained"
            print_problem(err, f"saved {what} to {args.export}", kind="info")
    if args.plot is not None and reports:
        from advisor.report.plot_file import write_plot

        write_plot(reports[0].loss_plot(), args.plot, err=err)
    if args.diff:
        return 2 if errors else print_diff(reports[0], out, err)
    _emit(reports, errors, args.format, out, rules)
    findings: list[Finding] = [f for report in reports for f in report.findings]
    return exit_code(findings, fail_on=Severity(args.fail_on), had_errors=bool(errors))


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
    report = run_advice(
        request,
        source=str(script),
        options=options,
        capture_seconds=time.perf_counter() - started,
    )
    line = _line(call.where)
    return replace(report, fit_line=line, patch=script_patch(script, report.improvement, line))


def _line(where: str) -> int | None:
    """The line number of a ``script.py:LINE`` location (None when only the file is known)."""
    number = where.rpartition(":")[2]
    return int(number) if number.isdigit() else None


def _emit(
    reports: list[AdviceReport],
    errors: list[str],
    output_format: str,
    out: Console,
    rules: Sequence[Rule],
) -> None:
    if output_format not in formats.MACHINE_FORMATS:
        for report in reports:
            out.print(report)
        return
    formats.emit(
        output_format,
        command="diagnose",
        located=[Located(r.source, r.findings, r.fit_line) for r in reports],
        errors=errors,
        rules=rules,
        out=out,
        reports=[report.to_dict() for report in reports],
    )
