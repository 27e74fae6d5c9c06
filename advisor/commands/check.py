"""``advisor check FILE...``: the rules on saved histories, with no training and no TensorFlow."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from advisor.engine import require_judgeable, run_rules
from advisor.errors import AdvisorError
from advisor.findings import Finding, Severity
from advisor.history import TrainingHistory, load_history
from advisor.report import formats
from advisor.report.located import Located
from advisor.report.plot import loss_plot
from advisor.report.tables import findings_table, print_problem, summary_line
from advisor.rule import Rule, RuleContext


@dataclass
class CheckResult:
    """Findings per readable file and one error line per unreadable one."""

    findings: dict[str, list[Finding]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    histories: dict[str, TrainingHistory] = field(default_factory=dict)

    @property
    def all_findings(self) -> list[Finding]:
        return [f for per_file in self.findings.values() for f in per_file]


def check_files(
    paths: Sequence[Path], context: RuleContext, rules: Sequence[Rule] | None = None
) -> CheckResult:
    """Check every file; a bad file is recorded as an error and the others still get checked."""
    result = CheckResult()
    for path in paths:
        try:
            history = load_history(path)
            require_judgeable(history)
        except AdvisorError as error:
            result.errors.append(str(error))
            continue
        result.findings[str(path)] = run_rules(history, context, rules=rules)
        result.histories[str(path)] = history
    return result


def exit_code(findings: Sequence[Finding], *, fail_on: Severity, had_errors: bool) -> int:
    """Linter convention: 2 for bad input, 1 for findings at or above ``fail_on``, else 0."""
    if had_errors:
        return 2
    return 1 if any(f.severity.rank >= fail_on.rank for f in findings) else 0


def report_check(
    result: CheckResult, *, output_format: str, out: Console, err: Console, rules: Sequence[Rule]
) -> None:
    for line in result.errors:
        print_problem(err, line)
    if output_format in formats.MACHINE_FORMATS:
        located = [Located(name, per_file) for name, per_file in result.findings.items()]
        formats.emit(
            output_format,
            command="check",
            located=located,
            errors=result.errors,
            rules=rules,
            out=out,
        )
        return
    for name, per_file in result.findings.items():
        out.print(findings_table(per_file, title=name))
    if result.findings:
        out.print(summary_line(result.all_findings, len(result.findings)))


def write_check_plot(result: CheckResult, path: Path, err: Console) -> None:
    """``--plot``: the one checked history's loss curves, its findings' epochs marked."""
    from advisor.report.plot_file import write_plot

    ((name, history),) = result.histories.items()
    write_plot(loss_plot(history, result.findings[name], title=name), path, err=err)
