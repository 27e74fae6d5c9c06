"""``script_diff``: the plan's edits as a unified diff of the user's own script.

The script is parsed with libcst, each edit's handler records its change, the changes are
applied in one pass, and the new source must compile before a diff is given. The diff is
relative to the script's folder (``--- a/train.py`` / ``+++ b/train.py``), so ``git apply``
or ``patch -p1`` apply it there. The user's file is only read.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path

import libcst as cst

from advisor.outcomes.patch import PatchResult
from advisor.patch import locate
from advisor.patch.changes import Changes
from advisor.patch.draft import Draft
from advisor.patch.facts import ScriptFacts
from advisor.patch.handlers import apply_edit
from advisor.patch.read_model import model_site
from advisor.plan_edits import PlanEdit


def script_diff(script_path: Path, edits: Sequence[PlanEdit], facts: ScriptFacts) -> PatchResult:
    source = script_path.read_text(encoding="utf-8")
    patched, not_applied = patched_source(source, edits, facts)
    return PatchResult(unified_diff(source, patched, script_path.name), not_applied)


def patched_source(
    source: str, edits: Sequence[PlanEdit], facts: ScriptFacts
) -> tuple[str, tuple[str, ...]]:
    """The script with every edit it can express, and the edits it could not, in words."""
    try:
        script = locate.parse(source)
        fit = locate.fit_call(script, facts.fit_line)
    except (cst.ParserSyntaxError, locate.Unpatchable) as error:
        reason = str(error).splitlines()[0]
        return source, tuple(f"{edit.fix}: {reason}" for edit in edits)
    compiled = locate.compile_call(script, fit)
    assignment = locate.model_value(script, fit, compiled)
    factory = None if isinstance(assignment, str) else locate.factory_model(script, assignment)
    if factory is not None:  # built (and perhaps compiled) in a function of the script
        assignment, compiled = factory.assignment, compiled or factory.compiled
    model = assignment if isinstance(assignment, str) else model_site(script, assignment)
    draft = Draft(script, facts, fit, compiled, model)
    for edit in edits:
        apply_edit(edit, draft)
    changes = Changes()
    draft.write(changes)
    patched = changes.apply(script.module).code
    compile(patched, "<patched script>", "exec")  # a patch that does not parse is a bug here
    return patched, tuple(dict.fromkeys(draft.not_applied))


def unified_diff(before: str, after: str, name: str) -> str:
    """``git apply``-able diff of one file; a last line without newline is marked as git does."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{name}",
        tofile=f"b/{name}",
    )
    return "".join(
        line if line.endswith("\n") else f"{line}\n\\ No newline at end of file\n" for line in lines
    )
