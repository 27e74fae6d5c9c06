"""The installed entry points of a group, read from the packages' ``entry_points.txt`` files.

Rules, fixes and formats are discovered through entry points, on every run of ``advisor
check``. ``importlib.metadata`` finds them, but importing it costs about as much as starting
Python (it brings in the ``email`` package to parse ``METADATA``, which discovery never reads).
So, where the installed packages are laid out as importlib's own path finder lays them out
(``*.dist-info`` and ``*.egg-info`` directories in the directories of ``sys.path``), this module
reads those directories the same way: the same files, in the same order, the first
distribution of a name winning, entry points parsed by the same syntax. Anywhere else (a
zip or an egg on ``sys.path``, a finder of another kind that supplies distributions) it asks
``importlib.metadata``, so what is found never differs from what it would find.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from functools import lru_cache, reduce
from importlib import import_module
from importlib.machinery import PathFinder
from typing import NamedTuple, Protocol

INFO_SUFFIXES = (".dist-info", ".egg-info")
# importlib.metadata's EntryPoint.pattern: "module", "module:attr.attr", optional "[extras]".
VALUE_PATTERN = re.compile(
    r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$"
)


class Distribution(Protocol):
    @property
    def name(self) -> str: ...


class EntryPoint(Protocol):
    """What discovery reads of an entry point; ``importlib.metadata.EntryPoint`` is one."""

    @property
    def name(self) -> str: ...
    @property
    def value(self) -> str: ...
    @property
    def dist(self) -> Distribution | None: ...
    def load(self) -> object: ...


def package_of(entry: EntryPoint) -> str:
    """The distribution that registered ``entry``, to name it when it fails to load."""
    return entry.dist.name if entry.dist else entry.value


class InfoDirectory(NamedTuple):  # a named tuple costs a tenth of a dataclass to define
    """A ``*.dist-info`` or ``*.egg-info`` directory: one installed distribution."""

    path: str

    @property
    def name(self) -> str:
        """The ``Name`` field of its metadata (read only to name a package in an error)."""
        for file_name in ("METADATA", "PKG-INFO"):
            try:
                with open(os.path.join(self.path, file_name), encoding="utf-8") as lines:
                    for line in lines:
                        if line.startswith("Name:"):
                            return line[len("Name:") :].strip()
            except OSError:
                continue
        return os.path.basename(self.path).partition("-")[0]


class FileEntryPoint(NamedTuple):
    """One line of an ``entry_points.txt``, loaded as ``importlib.metadata`` loads it."""

    name: str
    value: str
    group: str
    dist: InfoDirectory

    def load(self) -> object:
        match = VALUE_PATTERN.match(self.value)
        if match is None:
            raise ValueError(f"'{self.value}' is not an entry point's module:attribute")
        attributes = (match.group("attr") or "").split(".")
        return reduce(getattr, filter(None, attributes), import_module(match.group("module")))


def registered(group: str) -> tuple[EntryPoint, ...]:
    """The entry points of ``group`` in every installed distribution; the installed packages
    are scanned once for all groups (rules, fixes, formats)."""
    everything = _read_all()
    if everything is None:
        from importlib.metadata import entry_points

        return tuple(entry_points(group=group))
    return tuple(entry for entry in everything if entry.group == group)


@lru_cache(maxsize=1)
def _read_all() -> tuple[FileEntryPoint, ...] | None:
    """Every entry point of the installed distributions; None when the layout is one only
    ``importlib.metadata`` knows how to read."""
    if not _plain_layout():
        return None
    seen: set[str] = set()
    found: list[FileEntryPoint] = []
    for info in _info_directories():
        stem = os.path.basename(info)
        name = _normalized(os.path.splitext(stem)[0].partition("-")[0])
        if name in seen:  # the first distribution of a name on sys.path hides the others
            continue
        seen.add(name)
        found.extend(_entry_points(InfoDirectory(info)))
    return tuple(found)


def _plain_layout() -> bool:
    """Whether every distribution comes from ``PathFinder`` and every ``sys.path`` entry is a
    directory (or absent), where the files can be read directly."""
    finders = (f for f in sys.meta_path if hasattr(f, "find_distributions"))
    if any(finder is not PathFinder for finder in finders):
        return False
    return not any(
        entry.lower().endswith(".egg") or os.path.isfile(entry) for entry in sys.path
    )


def _info_directories() -> Iterator[str]:
    """The metadata directories in ``sys.path`` order, grouped by name as importlib's
    ``Lookup`` groups them within one directory."""
    for root in sys.path:
        try:
            children = os.listdir(root or ".")
        except OSError:
            continue
        by_name: dict[str, list[str]] = {}
        for child in children:
            low = child.lower()
            if low.endswith(INFO_SUFFIXES):
                name = _normalized(low.rpartition(".")[0].partition("-")[0])
                by_name.setdefault(name, []).append(os.path.join(root, child))
        for paths in by_name.values():
            yield from paths


def _entry_points(info: InfoDirectory) -> Iterator[FileEntryPoint]:
    """The ``[group]`` / ``name = value`` lines of one ``entry_points.txt``."""
    try:
        with open(os.path.join(info.path, "entry_points.txt"), encoding="utf-8") as file:
            text = file.read()
    except OSError:
        return
    group = None
    for line in map(str.strip, text.splitlines()):
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line.strip("[]")
        elif group is not None:
            name, _, value = (part.strip() for part in line.partition("="))
            yield FileEntryPoint(name=name, value=value, group=group, dist=info)


def _normalized(name: str) -> str:
    """PEP 503 normalisation with underscores, as importlib.metadata compares names."""
    return re.sub(r"[-_.]+", "_", name).lower()
