"""``advisor rules`` and ``advisor explain``: the catalogue and one rule's documentation."""

from __future__ import annotations

import argparse
from typing import TextIO

from advisor.registry import Catalogue
from advisor.report import jsonout
from advisor.report.tables import catalogue_table, rule_doc
from advisor.report.terminal import show


def run_listing(args: argparse.Namespace, catalogue: Catalogue, out: TextIO) -> int:
    if args.command == "explain":
        show([rule_doc(catalogue.find(args.rule))], out)
    elif args.format == "json":
        rows = [
            {
                "rule": r.id,
                "code": r.code,
                "severity": r.severity.value,
                "input": r.input,
                "supersedes": list(r.supersedes),
                "explains": list(r.explains),
                "summary": r.summary,
            }
            for r in catalogue.rules
        ]
        jsonout.emit(jsonout.rules_document(rows), out)
    else:
        show([catalogue_table(catalogue.rules)], out)
    return 0
