"""The ``advisor`` command line: parsing, dispatch, and the exit-code contract.

Exit codes follow linters: 0 clean, 1 findings at or above ``--fail-on``, 2 bad input or usage.
Every :class:`AdvisorError` becomes one line on stderr; nothing the user did wrong prints a
traceback. TensorFlow is imported only inside ``diagnose``, so ``check``, ``rules`` and
``explain`` stay fast enough for a pre-commit hook.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from advisor.errors import AdvisorError
from advisor.findings import Severity
from advisor.registry import load_catalogue
from advisor.report import jsonout
from advisor.report.formats import MACHINE_FORMATS
from advisor.report.tables import catalogue_table, print_problem, rule_doc
from advisor.rule import RuleContext

FORMATS = ("rich", *MACHINE_FORMATS)
LISTING_FORMATS = ("rich", "json")
SEVERITIES = tuple(s.value for s in Severity)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="advisor",
        description="Diagnose Keras training: find what is wrong, fix it, retrain, measure.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="check saved training histories (JSON or CSV)")
    check.add_argument("files", nargs="+", type=Path, metavar="FILE")
    check.add_argument(
        "--classes", type=int, metavar="K", help="number of classes, for the chance-level check"
    )
    _add_output_options(check)

    rules = commands.add_parser("rules", help="list the rule catalogue")
    rules.add_argument("--format", choices=LISTING_FORMATS, default="rich")

    explain = commands.add_parser("explain", help="print a rule's documentation")
    explain.add_argument("rule", metavar="ID-or-CODE")

    diagnose = commands.add_parser(
        "diagnose",
        help="run a training script with its fit intercepted, diagnose, fix and retrain",
        description="Arguments after '--' are passed to the script as its own argv.",
    )
    diagnose.add_argument("scripts", nargs="+", type=Path, metavar="SCRIPT")
    diagnose.add_argument("--no-fix", action="store_true", help="stop after the diagnosis")
    diagnose.add_argument("--epochs", type=_positive_int, help="epochs of the probing fit")
    diagnose.add_argument("--seed", type=int, default=0, help="seed of every fit (default 0)")
    diagnose.add_argument(
        "--repeats", type=_positive_int, default=1, help="seeds per comparison (default 1)"
    )
    diagnose.add_argument("--export", type=Path, metavar="PATH", help="save the fixed .keras model")
    diagnose.add_argument(
        "--diff",
        action="store_true",
        help="print only the adopted fix as a unified diff of SCRIPT (apply it with git apply)",
    )
    diagnose.add_argument(
        "--verbose", action="store_true", help="show TensorFlow's own log lines (hidden by default)"
    )
    diagnose.add_argument(
        "--fit",
        type=_positive_int,
        default=1,
        metavar="N",
        help="diagnose the script's N-th fit call; earlier ones run for real (default 1)",
    )
    diagnose.add_argument(
        "--max-samples",
        type=_positive_int,
        metavar="N",
        help="train on at most N samples, a stratified random sample (default: a budget "
        "that keeps a probe to minutes; the report says when it samples)",
    )
    _add_output_options(diagnose)
    return parser


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    for flag, verb in (("--select", "run only"), ("--ignore", "skip")):
        parser.add_argument(
            flag,
            type=_names,
            default=[],
            metavar="RULES",
            help=f"{verb} these rules: comma-separated ids or codes (e.g. ADV101,plateau)",
        )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="rich",
        help="rich (terminal), json (versioned), sarif (code scanning), github (annotations)",
    )
    parser.add_argument(
        "--plot",
        type=Path,
        metavar="PATH",
        help="write the loss curves, findings marked, as PNG or SVG (needs fit-advisor[plot])",
    )
    parser.add_argument(
        "--fail-on",
        choices=SEVERITIES,
        default=Severity.WARNING.value,
        help="lowest severity that makes the exit code 1 (default: warning)",
    )


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    script_argv: list[str] = []
    if "--" in args_list:
        split = args_list.index("--")
        args_list, script_argv = args_list[:split], args_list[split + 1 :]
    args = build_parser().parse_args(args_list)
    out = Console()
    err = Console(stderr=True)
    try:
        return _dispatch(args, script_argv, out, err)
    except AdvisorError as error:
        print_problem(err, str(error))
        return 2
    except KeyboardInterrupt:
        err.print("advisor: interrupted", markup=False)
        return 130


def _dispatch(args: argparse.Namespace, script_argv: list[str], out: Console, err: Console) -> int:
    catalogue = load_catalogue()
    for problem in catalogue.load_errors:
        print_problem(err, problem, kind="warning")
    if args.command == "check":
        from advisor.commands.check import (
            check_files,
            exit_code,
            report_check,
            write_check_plot,
        )

        rules = catalogue.selection(args.select, args.ignore)
        if args.plot is not None:
            from advisor.report.plot_file import check_plot_path

            check_plot_path(args.plot, inputs=args.files)
        result = check_files(args.files, RuleContext(n_classes=args.classes), rules)
        report_check(result, output_format=args.format, out=out, err=err, rules=rules)
        if args.plot is not None and result.histories:
            write_check_plot(result, args.plot, err)
        return exit_code(
            result.all_findings, fail_on=Severity(args.fail_on), had_errors=bool(result.errors)
        )
    if args.command == "rules":
        if args.format == "json":
            rows = [
                {
                    "rule": r.id,
                    "code": r.code,
                    "severity": r.severity.value,
                    "input": r.input,
                    "supersedes": list(r.supersedes),
                    "summary": r.summary,
                }
                for r in catalogue.rules
            ]
            jsonout.emit(jsonout.rules_document(rows), out)
        else:
            out.print(catalogue_table(catalogue.rules))
        return 0
    if args.command == "explain":
        out.print(rule_doc(catalogue.find(args.rule)))
        return 0
    if not args.verbose:  # TensorFlow's C++ start-up chatter would bury the report
        from advisor.native_logs import import_tensorflow_quietly

        import_tensorflow_quietly()
    from advisor.commands.diagnose import run_diagnose

    return run_diagnose(args, script_argv, out=out, err=err)
