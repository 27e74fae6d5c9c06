"""The ``[tool.fit-advisor]`` table of a project's ``pyproject.toml``, as ruff reads its own.

The table is found by walking up from the checked files' folder to the first ``pyproject.toml``
that has one (a ``pyproject.toml`` without the table is passed over, as ruff does), so a
project's settings apply wherever in it the advisor is run. A flag given on the command line
replaces the table's value for that key. An unknown key or a value of the wrong type is an
error naming the file, not a setting silently ignored.

```toml
[tool.fit-advisor]
select = ["ADV1"]                     # rule ids, codes or code prefixes
ignore = ["plateau"]
fail-on = "error"                     # info | warning | error
budget = 3.0                          # search budget, in multiples of the user's own run
[tool.fit-advisor.per-file-ignores]
"histories/legacy_*.json" = ["ADV106"]
```
"""

from __future__ import annotations

import fnmatch
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from advisor.errors import AdvisorError
from advisor.findings import Severity

TABLE = "fit-advisor"
CONFIG_FILE = "pyproject.toml"
# `[tool.fit-advisor]`, `[tool."fit-advisor".per-file-ignores]`, `tool.fit-advisor.select = ...`
_MENTION = re.compile(r'tool\s*\.\s*["\']?fit-advisor')


@dataclass(frozen=True)
class Settings:
    """What to check and when to fail, from the table and the flags together."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    fail_on: Severity = Severity.WARNING
    # Glob (relative to the config's folder, or a file name) -> rules ignored in those files.
    per_file_ignores: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # The guided search's budget in multiples of the user's own run; None: its default.
    budget: float | None = None
    # The pyproject.toml the settings came from (None: defaults and flags only).
    source: Path | None = None

    def ignored_in(self, path: Path) -> tuple[str, ...]:
        """``ignore`` plus every per-file ignore whose pattern matches ``path``."""
        if not self.per_file_ignores:
            return self.ignore
        root = self.source.parent if self.source is not None else Path.cwd()
        resolved = path.resolve()
        names = {resolved.name, path.as_posix()}
        if resolved.is_relative_to(root):
            names.add(resolved.relative_to(root).as_posix())
        extra = [
            rule
            for pattern, rules in self.per_file_ignores.items()
            if any(fnmatch.fnmatchcase(name, pattern) for name in names)
            for rule in rules
        ]
        return (*self.ignore, *extra)

    def overridden(
        self,
        *,
        select: Sequence[str] | None = None,
        ignore: Sequence[str] | None = None,
        fail_on: str | None = None,
    ) -> Settings:
        """These settings with each flag that was given (not None) in place of its key."""
        changes: dict[str, Any] = {}
        if select is not None:
            changes["select"] = tuple(select)
        if ignore is not None:
            changes["ignore"] = tuple(ignore)
        if fail_on is not None:
            changes["fail_on"] = Severity(fail_on)
        return replace(self, **changes)


def find_config(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` with a ``[tool.fit-advisor]`` table, from ``start`` up."""
    folder = start.resolve()
    for candidate in (folder, *folder.parents):
        path = candidate / CONFIG_FILE
        # Most pyproject.toml files have no such table: parse only those that may have it.
        if path.is_file() and _MENTION.search(_text(path)) and TABLE in _read(path).get("tool", {}):
            return path
    return None


def load_settings(inputs: Sequence[Path]) -> Settings:
    """The settings for a run on ``inputs``: the table found from their common folder."""
    folders = [str(path.resolve().parent) for path in inputs] or [os.getcwd()]
    config = find_config(Path(os.path.commonpath(folders)))
    if config is None:
        return Settings()
    return parse_table(_read(config)["tool"][TABLE], source=config)


def parse_table(table: object, *, source: Path) -> Settings:
    """Settings from the table's contents, refusing anything we would otherwise ignore."""
    if not isinstance(table, dict):
        raise AdvisorError(f"{source}: [tool.{TABLE}] must be a table")
    known = {"select", "ignore", "fail-on", "per-file-ignores", "budget"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise AdvisorError(
            f"{source}: unknown key(s) {', '.join(unknown)} in [tool.{TABLE}]; "
            f"known: {', '.join(sorted(known))}"
        )
    settings = Settings(source=source)
    if "select" in table:
        settings = replace(settings, select=_names(table["select"], "select", source))
    if "ignore" in table:
        settings = replace(settings, ignore=_names(table["ignore"], "ignore", source))
    if "fail-on" in table:
        settings = replace(settings, fail_on=_severity(table["fail-on"], source))
    if "per-file-ignores" in table:
        per_file = table["per-file-ignores"]
        if not isinstance(per_file, dict):
            raise AdvisorError(f"{source}: per-file-ignores must be a table of glob = [rules]")
        settings = replace(
            settings,
            per_file_ignores={
                str(glob): _names(rules, f"per-file-ignores.{glob}", source)
                for glob, rules in per_file.items()
            },
        )
    if "budget" in table:
        settings = replace(settings, budget=_budget(table["budget"], source))
    return settings


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise AdvisorError(f"{path}: cannot read ({error.strerror})") from None


def _read(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):  # imported here: most runs find no table to parse
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        with path.open("rb") as file:
            document: dict[str, Any] = tomllib.load(file)
            return document
    except tomllib.TOMLDecodeError as error:
        raise AdvisorError(f"{path}: invalid TOML: {error}") from None
    except OSError as error:
        raise AdvisorError(f"{path}: cannot read ({error.strerror})") from None


def _names(value: object, key: str, source: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise AdvisorError(f"{source}: {key} must be a list of rule ids or codes, got {value!r}")
    return tuple(item.strip() for item in value if item.strip())


def _severity(value: object, source: Path) -> Severity:
    allowed = [s.value for s in Severity]
    if value not in allowed:
        raise AdvisorError(f"{source}: fail-on must be one of {', '.join(allowed)}, got {value!r}")
    return Severity(value)


def _budget(value: object, source: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise AdvisorError(
            f"{source}: budget must be a positive number (multiples of your run), got {value!r}"
        )
    return float(value)
