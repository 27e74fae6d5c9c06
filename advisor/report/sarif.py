"""``--format sarif``: SARIF 2.1.0, the format GitHub code scanning reads (as ruff and bandit
write it).

One run, the tool's driver listing the rules that ran (``ruleId`` is the rule's code, ``name``
its id, ``help`` its documentation), one result per finding located at the history file or at
the script line of the ``fit`` call. Files that could not be judged become error
notifications of the invocation, which is then not successful.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from advisor.findings import Severity
from advisor.report.formats import Format
from advisor.report.jsonout import emit, tool
from advisor.report.located import Located
from advisor.report.results import Results
from advisor.rule import Rule

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {Severity.INFO: "note", Severity.WARNING: "warning", Severity.ERROR: "error"}


def sarif_log(run_results: Results) -> Any:
    """The SARIF log of one advisor run, as a JSON-ready dict."""
    located, errors, rules = run_results.located, run_results.errors, run_results.rules
    index = {rule.id: i for i, rule in enumerate(rules)}
    results = [
        {
            "ruleId": finding.code,
            "ruleIndex": index[finding.rule],
            "level": LEVELS[finding.severity],
            "message": {"text": finding.message},
            "locations": [_location(entry)],
            "properties": {
                "evidence": dict(finding.evidence),
                "fixes": list(finding.fixes),
                "explained_by": finding.explained_by,
            },
        }
        for entry in located
        for finding in entry.findings
    ]
    driver = {
        **tool(),
        "rules": [_descriptor(rule) for rule in rules],
    }
    invocation = {
        "executionSuccessful": not errors,
        "toolExecutionNotifications": [
            {"level": "error", "message": {"text": line}} for line in errors
        ],
    }
    run = {"tool": {"driver": driver}, "invocations": [invocation], "results": results}
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def _descriptor(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.code,
        "name": rule.id,
        "shortDescription": {"text": rule.summary},
        "help": {"text": rule.doc, "markdown": rule.doc},
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
    }


def _location(entry: Located) -> dict[str, Any]:
    path = Path(entry.path)
    uri = path.resolve().as_uri() if path.is_absolute() else path.as_posix()
    # A history has no line to point at: its findings are about the whole file.
    region = {"startLine": entry.line or 1}
    return {"physicalLocation": {"artifactLocation": {"uri": uri}, "region": region}}


FORMAT = Format(
    name="sarif",
    write=lambda results, out: emit(sarif_log(results), out),
)
