"""The adopted plan as a patch to the user's own script (``advisor diagnose SCRIPT --diff``).

Driven by the plan's edits (:mod:`advisor.plan_edits`), one handler per edit type
(:mod:`advisor.patch.handlers`), written with libcst so the script keeps its names, comments
and formatting. What cannot be written safely is listed in words, never guessed.
"""

from advisor.outcomes.patch import PatchResult
from advisor.patch.diff import patched_source, script_diff
from advisor.patch.facts import ScriptFacts

__all__ = ["PatchResult", "ScriptFacts", "patched_source", "script_diff"]
