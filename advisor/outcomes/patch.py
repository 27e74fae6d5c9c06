"""The adopted fix as a patch of the user's script: plain data the report carries."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PatchResult:
    """The unified diff (empty when nothing could be changed) and, in words, each change the
    patch could not write safely."""

    diff: str
    not_applied: tuple[str, ...] = ()
