"""``advisor check FILE...``: the rules on saved histories, with no training and no TensorFlow."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from advisor.engine import require_judgeable, run_rules
from advisor.errors import AdvisorError
from advisor.findings import Finding, Severity
from advisor.history import TrainingHistory, load_history
from advisor.report.formats import load_format
from advisor.report.located import Located
from advisor.report.problems import report_problem
from advisor.report.results import Results
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
    paths: Sequence[Path],
    context: RuleContext,
    rules_for: Callable[[Path], Sequence[Rule]] | None = None,
) -> CheckResult:
    """Check every file with its rules (default: all of them); a bad file is recorded as an
    error and the others still get checked."""
    result = CheckResult()
    for path in paths:
        try:
            history = load_history(path)
            require_judgeable(history)
        except AdvisorError as error:
            result.errors.append(str(error))
            continue
        rules = None if rules_for is None else rules_for(path)
        result.findings[str(path)] = run_rules(history, context, rules=rules)
        result.histories[str(path)] = history
    return result


def exit_code(findings: Sequence[Finding], *, fail_on: Severity, had_errors: bool) -> int:
    """Linter convention: 2 for bad input, 1 for findings at or above ``fail_on``, else 0."""
    if had_errors:
        return 2
    return 1 if any(f.severity.rank >= fail_on.rank for f in findings) else 0


def report_check(
    result: CheckResult, *, output_format: str, out: TextIO, rules: Sequence[Rule]
) -> None:
    """Each unreadable file as one line on stderr; the findings in ``output_format``."""
    for line in result.errors:
        report_problem(line)
    located = [Located(name, per_file) for name, per_file in result.findings.items()]
    results = Results("check", located, errors=result.errors, rules=rules)
    load_format(output_format).write(results, out)


def write_check_plot(result: CheckResult, path: Path) -> None:
    """``--plot``: the one checked history's loss curves, its findings' epochs marked."""
    from rich.console import Console

    from advisor.report.plot import loss_plot
    from advisor.report.plot_file import write_plot

    ((name, history),) = result.histories.items()
    plot = loss_plot(history, result.findings[name], title=name)
    write_plot(plot, path, err=Console(stderr=True))
