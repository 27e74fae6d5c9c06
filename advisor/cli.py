"""The ``advisor`` command line: parsing, dispatch, and the exit-code contract.

Exit codes follow linters: 0 clean, 1 findings at or above ``--fail-on`` (0 anyway with
``--exit-zero``), 2 bad input or usage. Every :class:`AdvisorError` becomes one line on stderr
and, in a machine format, a document that carries it; nothing the user did wrong prints a
traceback. ``check`` and ``diagnose`` read the ``[tool.fit-advisor]`` table of the nearest
``pyproject.toml`` (:mod:`advisor.config`); their flags override it. TensorFlow is imported only
inside ``diagnose``, so ``check``, ``rules`` and ``explain`` stay fast enough for a pre-commit hook.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from advisor.commands.output import ReportBuffer, check_output_file, deliver, report_buffer
from advisor.config import Settings, load_settings
from advisor.errors import AdvisorError
from advisor.findings import Severity
from advisor.report.formats import DEFAULT_FORMAT, format_names, load_format
from advisor.report.problems import report_problem
from advisor.report.results import Results
from advisor.version import installed_version

LISTING_FORMATS = ("rich", "json")
SEVERITIES = tuple(s.value for s in Severity)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="advisor",
        formatter_class=_Formatter,
        description="Diagnose Keras training: find what is wrong, fix it, retrain, measure.",
    )
    parser.add_argument("--version", action=_Version)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser(
        "check", help="check saved training histories (JSON or CSV)", formatter_class=_Formatter
    )
    # "*": files may also follow "--" (see split_at_double_dash); none at all is a usage error.
    check.add_argument("files", nargs="*", type=Path, metavar="FILE")
    check.add_argument(
        "--classes",
        type=_at_least(2),
        metavar="K",
        help="number of classes (at least 2), for the chance-level check",
    )
    _add_output_options(check)

    rules = commands.add_parser(
        "rules", help="list the rule catalogue", formatter_class=_Formatter
    )
    rules.add_argument("--format", choices=LISTING_FORMATS, default="rich")

    explain = commands.add_parser(
        "explain", help="print a rule's documentation", formatter_class=_Formatter
    )
    explain.add_argument("rule", metavar="ID-or-CODE")

    diagnose = commands.add_parser(
        "diagnose",
        help="run a training script with its fit intercepted, diagnose, fix and retrain",
        description="Arguments after '--' are passed to the script as its own argv.",
        formatter_class=_Formatter,
    )
    diagnose.add_argument("scripts", nargs="+", type=Path, metavar="SCRIPT")
    diagnose.add_argument("--no-fix", action="store_true", help="stop after the diagnosis")
    diagnose.add_argument("--epochs", type=_at_least(1), help="epochs of the probing fit")
    diagnose.add_argument("--seed", type=int, default=0, help="seed of every fit (default 0)")
    diagnose.add_argument(
        "--repeats", type=_at_least(1), default=1, help="seeds per comparison (default 1)"
    )
    diagnose.add_argument(
        "--budget",
        type=_positive_number,
        metavar="MULTIPLE",
        help="epochs the search over fixes may train, in multiples of your run's (default 3; "
        "the budget key of [tool.fit-advisor])",
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
        type=_at_least(1),
        default=1,
        metavar="N",
        help="diagnose the script's N-th fit call; earlier ones run for real (default 1)",
    )
    diagnose.add_argument(
        "--max-samples",
        type=_at_least(1),
        metavar="N",
        help="train on at most N samples, a stratified random sample (default: a budget "
        "that keeps a probe to minutes; the report says when it samples)",
    )
    diagnose.add_argument(
        "--storage",
        metavar="URL",
        help="keep the search's trials in this Optuna storage (sqlite:///FILE, "
        "postgresql://..., mysql://...) for `advisor worker` processes to share "
        "(default: in memory, in this process)",
    )
    diagnose.add_argument(
        "--jobs",
        type=_at_least(1),
        default=1,
        metavar="N",
        help="train the search's trials in N processes on this machine: N-1 `advisor worker` "
        "processes join its study (default 1)",
    )
    _add_output_options(diagnose)

    worker = commands.add_parser(
        "worker",
        help="train trials of a search that `advisor diagnose --storage` shares",
        formatter_class=_Formatter,
    )
    worker.add_argument("--storage", required=True, metavar="URL", help="the study's storage")
    worker.add_argument("--study", required=True, metavar="NAME", help="the study diagnose named")
    worker.add_argument(
        "--seed", type=int, help="seed of this worker's sampler (default: a random one)"
    )
    worker.add_argument(
        "--verbose", action="store_true", help="show TensorFlow's own log lines (hidden by default)"
    )
    return parser


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    # None means "not given": the [tool.fit-advisor] table's value (or the default) applies.
    for flag, verb in (("--select", "run only"), ("--ignore", "skip")):
        parser.add_argument(
            flag,
            type=_names,
            metavar="RULES",
            help=f"{verb} these rules: comma-separated ids, codes or code prefixes "
            "(e.g. ADV101,plateau,ADV4)",
        )
    parser.add_argument(
        "--format",
        choices=format_names(),
        default=DEFAULT_FORMAT,
        help="rich (terminal), concise (path:line:col: CODE message), json (versioned), "
        "sarif (code scanning), github (annotations)",
    )
    parser.add_argument(
        "--output-file",
        "-o",
        type=Path,
        metavar="PATH",
        help="write the report to this new file instead of standard output",
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
        help="lowest severity that makes the exit code 1 (default: warning)",
    )
    parser.add_argument(
        "--exit-zero",
        action="store_true",
        help="exit 0 even when there are findings (2 still means bad input)",
    )


class _Formatter(argparse.HelpFormatter):
    """argparse's help layout at the width argparse would choose, found without ``shutil``:
    argparse makes a formatter for every option added, and importing ``shutil`` (with the
    compression modules it loads) for it would cost every ``advisor check`` a tenth of a
    Python start."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=_terminal_columns() - 2)


def _terminal_columns(fallback: int = 80) -> int:
    """``shutil.get_terminal_size().columns``: a positive ``$COLUMNS``, else the width of the
    terminal on standard output, else ``fallback``."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    stdout = sys.__stdout__
    try:
        return (os.get_terminal_size(stdout.fileno()).columns if stdout else 0) or fallback
    except (ValueError, OSError):  # closed, detached, or not a terminal
        return fallback


class _Version(argparse.Action):
    """``--version``, looking the version up only when asked (argparse's own action needs it
    when the parser is built, on every run)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        print(f"fit-advisor {installed_version()}")
        parser.exit()


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _positive_number(text: str) -> float:
    """An argparse type: a number above zero, else a usage error (exit 2)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


class _at_least:  # lower case: used like the argparse types int and float
    """An argparse type: an integer no smaller than ``minimum``, else a usage error (exit 2)."""

    def __init__(self, minimum: int) -> None:
        self.minimum = minimum
        self.__name__ = f"integer >= {minimum}"  # what argparse names in "invalid ... value"

    def __call__(self, text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < self.minimum:
            raise argparse.ArgumentTypeError(f"must be at least {self.minimum}, got {value}")
        return value


def split_at_double_dash(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """The arguments before ``--`` and after it. For ``diagnose`` what follows is the script's
    own argv; for ``check`` more files (names that may start with ``-``), so that
    ``check a.json -- b.json`` checks both."""
    args = list(argv)
    if "--" not in args:
        return args, []
    split = args.index("--")
    return args[:split], args[split + 1 :]


def main(argv: Sequence[str] | None = None) -> int:
    args_list, after_dashes = split_at_double_dash(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
        script_argv = _take_after_dashes(parser, args, after_dashes)
    except SystemExit as done:  # --help, --version, or a usage error (exit 2)
        return done.code if isinstance(done.code, int) else 2
    output_file: Path | None = getattr(args, "output_file", None)
    out = report_buffer(output_file)
    try:
        if output_file is not None:
            check_output_file(output_file, inputs=_inputs(args))
    except AdvisorError as error:  # nowhere to write to but standard output
        report_problem(str(error))
        _write_error_document(args, str(error), out)
        deliver(out, None)
        return 2
    try:
        code = _dispatch(args, script_argv, out)
    except AdvisorError as error:
        report_problem(str(error))
        _write_error_document(args, str(error), out)
        code = 2
    except KeyboardInterrupt:
        sys.stderr.write("advisor: interrupted\n")
        return 130
    try:
        deliver(out, output_file)
    except AdvisorError as error:
        report_problem(str(error))
        return 2
    return code


def _inputs(args: argparse.Namespace) -> list[Path]:
    """The files ``check`` reads or the scripts ``diagnose`` runs."""
    files: list[Path] = args.files if args.command == "check" else args.scripts
    return files


def _take_after_dashes(
    parser: argparse.ArgumentParser, args: argparse.Namespace, after: list[str]
) -> list[str]:
    """What follows ``--``: the script's argv for ``diagnose``, more files for ``check``."""
    if args.command == "diagnose":
        return after
    if args.command == "check":
        args.files = [*args.files, *map(Path, after)]
        if not args.files:
            parser.error("check needs at least one FILE")
    elif after:
        parser.error(f"{args.command} takes no arguments after '--'")
    return []


def _write_error_document(args: argparse.Namespace, message: str, out: ReportBuffer) -> None:
    """A machine format still gets a valid document, carrying the error, when the run could
    not even start (unless the run already wrote one)."""
    if args.command not in ("check", "diagnose") or out.getvalue():
        return
    try:
        writer = load_format(args.format)
    except AdvisorError:
        return
    writer.write(Results(args.command, located=[], errors=[message]), out)


def _settings(args: argparse.Namespace, inputs: Sequence[Path]) -> Settings:
    """The ``[tool.fit-advisor]`` table found from ``inputs``, with the flags given on top;
    written back onto ``args`` so every command reads one resolved set of options."""
    settings = load_settings(inputs).overridden(
        select=args.select, ignore=args.ignore, fail_on=args.fail_on
    )
    args.select, args.ignore = list(settings.select), list(settings.ignore)
    args.fail_on = settings.fail_on.value
    args.settings = settings
    return settings


def _dispatch(args: argparse.Namespace, script_argv: list[str], out: TextIO) -> int:
    from advisor.registry import load_catalogue

    catalogue = load_catalogue()
    for problem in catalogue.load_errors:
        report_problem(problem, kind="warning")
    if args.command in ("rules", "explain"):
        from advisor.commands.listing import run_listing

        return run_listing(args, catalogue, out)
    if args.command == "worker":
        from advisor.commands.worker import join, run_worker_command

        joined = join(args.storage, args.study)  # bad input fails before TensorFlow loads
        _import_training_stack(args)
        from rich.console import Console

        return run_worker_command(args, joined, err=Console(stderr=True))
    settings = _settings(args, _inputs(args))
    if args.command == "check":
        code = _check(args, settings, out)
    else:
        _import_training_stack(args)
        from rich.console import Console

        from advisor.commands.diagnose import run_diagnose

        code = run_diagnose(args, script_argv, out=out, err=Console(stderr=True))
    return 0 if code == 1 and args.exit_zero else code


def _import_training_stack(args: argparse.Namespace) -> None:
    from advisor.training_stack import require_training_stack

    require_training_stack(f"advisor {args.command}")
    if not args.verbose:  # TensorFlow's C++ start-up chatter would bury the report
        from advisor.native_logs import import_tensorflow_quietly

        import_tensorflow_quietly()


def _check(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    from advisor.commands.check import check_files, exit_code, report_check, write_check_plot
    from advisor.registry import load_catalogue
    from advisor.rule import RuleContext

    catalogue = load_catalogue()
    rules = catalogue.selection(settings.select, settings.ignore)
    if args.plot is not None:
        from advisor.report.plot_file import check_plot_path

        check_plot_path(args.plot, inputs=args.files)
    result = check_files(
        args.files,
        RuleContext(n_classes=args.classes),
        lambda path: catalogue.selection(settings.select, settings.ignored_in(path)),
    )
    if args.plot is not None and result.histories:
        write_check_plot(result, args.plot)
    report_check(result, output_format=args.format, out=out, rules=rules)
    return exit_code(result.all_findings, fail_on=settings.fail_on, had_errors=bool(result.errors))
