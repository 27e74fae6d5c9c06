"""The output formats of ``check`` and ``diagnose``, loaded through the ``fit_advisor.formats``
entry-point group, as flake8 loads its reporters.

Each format is one module exposing a :class:`Format` value; the built-in ones (rich, concise,
json, sarif, github) are registered in ``pyproject.toml`` exactly as a third-party package would
register its own. The names are read from the entry-point metadata alone, so listing them for
``--format`` imports no format module; only the chosen one is loaded, then checked like a rule
(the value's type, its name equal to the entry point's) and a broken one is named by package.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TextIO

from advisor.entry_points import EntryPoint, package_of, registered
from advisor.errors import AdvisorError
from advisor.report.results import Results
from advisor.rule import ID_PATTERN

ENTRY_POINT_GROUP = "fit_advisor.formats"
DEFAULT_FORMAT = "rich"

Writer = Callable[[Results, TextIO], None]


@dataclass(frozen=True)
class Format:
    """An output format: its name (the ``--format`` value) and the function that writes a
    run's :class:`Results` to a text stream."""

    name: str
    write: Writer


@lru_cache(maxsize=1)
def _entries() -> dict[str, tuple[EntryPoint, ...]]:
    """The registered entry points by name, sorted; two for one name is a clash."""
    found: dict[str, tuple[EntryPoint, ...]] = {}
    for entry in sorted(registered(ENTRY_POINT_GROUP), key=lambda e: (e.name, e.value)):
        found[entry.name] = (*found.get(entry.name, ()), entry)
    return found


def format_names() -> tuple[str, ...]:
    """Every registered format's name, sorted, without importing any of them."""
    return tuple(sorted(_entries()))


def load_format(name: str) -> Format:
    """The format registered under ``name``; an :class:`AdvisorError` naming the package when
    it is unknown or does not load as a valid :class:`Format`."""
    entries = _entries().get(name, ())
    if not entries:
        known = ", ".join(format_names())
        raise AdvisorError(f"unknown output format '{name}'; known formats: {known}")
    if len(entries) > 1:
        claims = " and ".join(package_of(entry) for entry in entries)
        raise AdvisorError(f"format '{name}' is registered twice, by {claims}")
    (entry,) = entries
    try:
        return _validated(entry)
    except Exception as error:
        raise AdvisorError(
            f"format '{name}' from {package_of(entry)} failed to load: {error}"
        ) from None


def _validated(entry: EntryPoint) -> Format:
    value = entry.load()
    if not isinstance(value, Format):
        raise TypeError(f"{entry.value} is a {type(value).__name__}, expected a Format")
    if value.name != entry.name:
        raise ValueError(f"entry point name '{entry.name}' differs from format name '{value.name}'")
    if not ID_PATTERN.match(value.name):
        raise ValueError(f"format name '{value.name}' is not a lower-case slug")
    return value
