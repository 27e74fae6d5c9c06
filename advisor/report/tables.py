"""Rich renderings shared by every command: the findings table, the catalogue, a rule's doc.

Rule modules never import Rich; only this module and the report know how things look.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from advisor.findings import Finding, Severity
from advisor.report.located import described
from advisor.report.problems import problem_line
from advisor.report.words import summary_text
from advisor.rule import Rule

SEVERITY_STYLE = {Severity.INFO: "cyan", Severity.WARNING: "yellow", Severity.ERROR: "bold red"}


def findings_table(findings: Sequence[Finding], *, title: str | None = None) -> RenderableType:
    """One row per finding: severity, code, rule, message and the suggested fixes."""
    if not findings:
        return Text(f"{title + ': ' if title else ''}no findings", style="green")
    table = Table(title=title, title_justify="left", show_lines=False, expand=False)
    table.add_column("severity", no_wrap=True)
    table.add_column("code", no_wrap=True)
    table.add_column("rule", no_wrap=True)
    table.add_column("message", ratio=1)
    table.add_column("suggested fix")
    for finding in findings:
        # A consequence is listed right after the finding that explains it, indented under it.
        rule = finding.rule if finding.explained_by is None else f"└ {finding.rule}"
        table.add_row(
            Text(finding.severity.value, style=SEVERITY_STYLE[finding.severity]),
            finding.code,
            rule,
            described(finding),
            ", ".join(finding.fixes) or "-",
        )
    return table


def summary_line(findings: Sequence[Finding], n_files: int) -> Text:
    return Text(summary_text(findings, n_files), style="" if findings else "green")


def catalogue_table(rules: Sequence[Rule]) -> Table:
    table = Table(title="fit-advisor rules", title_justify="left")
    table.add_column("code", no_wrap=True)
    table.add_column("rule", no_wrap=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("input", no_wrap=True)
    table.add_column("summary")
    for rule in rules:
        table.add_row(
            rule.code,
            rule.id,
            Text(rule.severity.value, style=SEVERITY_STYLE[rule.severity]),
            rule.input,
            rule.summary,
        )
    return table


def rule_doc(rule: Rule) -> RenderableType:
    from rich.markdown import Markdown  # markdown-it is heavy, and only `explain` needs it

    header = Text(f"{rule.code} {rule.id}", style="bold")
    parts: list[RenderableType] = [header, Text(rule.summary, style="italic")]
    if rule.supersedes:
        superseded = ", ".join(rule.supersedes)
        parts.append(Text(f"supersedes: {superseded} (dropped when this rule fires)"))
    return Group(*parts, Markdown(rule.doc), _fix_settings(rule.doc))


def _fix_settings(doc: str) -> RenderableType:
    """What the advisor applies for each fix the doc names, read from the fix registry: the
    numbers are defined once in each fix's module, never repeated (and drifting) in prose."""
    from rich.markdown import Markdown

    from advisor.fixes.docs import applied_lines  # only `explain` needs the fix registry

    lines = applied_lines(doc)
    if not lines:
        return Text("")
    return Markdown("## What the advisor applies\n" + "\n".join(lines))


def print_problem(console: Console, message: str, *, kind: str = "error") -> None:
    """One unwrapped, unstyled ``advisor: error: ...`` line, as grep and CI logs expect."""
    line = problem_line(message, kind=kind)
    console.print(line, markup=False, highlight=False, soft_wrap=True)
