"""Discovery of fixes through the ``fit_advisor.fixes`` entry-point group.

Built-in fixes are registered in ``pyproject.toml`` exactly as a third-party rule pack would
register its own, and are checked the way rules are (:mod:`advisor.registry`): the entry-point
name equals the fix id, the id is a lower-case slug, ids are unique, the doc has its headings,
every knob's default lies in its search space; fixes are sorted by id, so nothing depends on
install order, and a pack that fails to load is reported by name instead of crashing.

``competes_with`` is completed here: a fix may declare the fixes it competes with on one side
only (dropout names L2), and every fix of such a group then lists all the others.

No TensorFlow: ``advisor explain`` and the check of the rules' suggested fixes read this.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache

from advisor.entry_points import EntryPoint, package_of, registered
from advisor.errors import AdvisorError
from advisor.fix import FIX_DOC_HEADINGS, FIX_ID_PATTERN, Fix, FixKind, Knob

ENTRY_POINT_GROUP = "fit_advisor.fixes"


@dataclass(frozen=True)
class FixCatalogue:
    """The loaded fixes by id, plus one line per entry point that could not be loaded."""

    fixes: tuple[Fix, ...]
    load_errors: tuple[str, ...] = ()

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(fix.id for fix in self.fixes)

    def find(self, fix_id: str) -> Fix:
        for fix in self.fixes:
            if fix.id == fix_id:
                return fix
        raise AdvisorError(f"unknown fix '{fix_id}'; known fixes: {', '.join(self.ids)}")

    def of_kind(self, kind: FixKind) -> tuple[str, ...]:
        """Ids of the fixes of ``kind`` (the data fixes, ...), in id order."""
        return tuple(fix.id for fix in self.fixes if fix.kind == kind)

    def competing(self) -> tuple[str, ...]:
        """Ids of the fixes that compete with another one (tried as alternatives)."""
        return tuple(fix.id for fix in self.fixes if fix.competes_with)

    def by_id(self) -> Mapping[str, Fix]:
        return {fix.id: fix for fix in self.fixes}


@lru_cache(maxsize=1)
def load_fixes() -> FixCatalogue:
    fixes: dict[str, Fix] = {}
    errors: list[str] = []
    for entry in sorted(registered(ENTRY_POINT_GROUP), key=lambda e: e.name):
        package = package_of(entry)
        try:
            fix = _load(entry)
        except Exception as error:  # a broken pack must not take the others down
            errors.append(f"fix '{entry.name}' from {package} failed to load: {error}")
            continue
        if fix.id in fixes:
            errors.append(f"fix '{fix.id}' from {package} is registered twice; the first is kept")
            continue
        fixes[fix.id] = fix
    return FixCatalogue(fixes=_symmetric(fixes), load_errors=tuple(errors))


def _symmetric(fixes: Mapping[str, Fix]) -> tuple[Fix, ...]:
    """Every fix with all the known fixes it competes with, sorted by id. Competing means doing
    the same job another way, so it is symmetric and transitive: dropout naming L2 and
    elastic-net puts the three in one group, each listing the other two."""
    group: dict[str, set[str]] = {fix_id: {fix_id} for fix_id in fixes}
    for fix in fixes.values():
        for other in fix.competes_with:
            if other in fixes and group[other] is not group[fix.id]:
                merged = group[fix.id] | group[other]
                for member in merged:
                    group[member] = merged
    return tuple(
        replace(fixes[fix_id], competes_with=tuple(sorted(group[fix_id] - {fix_id})))
        for fix_id in sorted(fixes)
    )


def _load(entry: EntryPoint) -> Fix:
    fix = entry.load()
    if not isinstance(fix, Fix):
        raise TypeError(f"{entry.value} is a {type(fix).__name__}, expected advisor.fix.Fix")
    if fix.id != entry.name:
        raise ValueError(f"entry point name '{entry.name}' differs from fix id '{fix.id}'")
    if not FIX_ID_PATTERN.match(fix.id):
        raise ValueError(f"fix id '{fix.id}' is not a lower-case slug")
    missing = [heading for heading in FIX_DOC_HEADINGS if heading not in fix.doc]
    if missing:
        raise ValueError(f"doc lacks the heading(s) {', '.join(missing)}")
    _check_knobs(fix.knobs)
    return fix


def _check_knobs(knobs: Iterable[Knob]) -> None:
    names: set[str] = set()
    for knob in knobs:
        if knob.name in names:
            raise ValueError(f"knob '{knob.name}' is declared twice")
        names.add(knob.name)
        if knob.choices and knob.default not in knob.choices:
            raise ValueError(f"knob '{knob.name}': default {knob.default!r} is not a choice")
        if knob.low is not None and knob.high is not None:
            if not isinstance(knob.default, int | float) or isinstance(knob.default, bool):
                raise ValueError(f"knob '{knob.name}': a range needs a numeric default")
            if not knob.low <= knob.default <= knob.high:
                raise ValueError(
                    f"knob '{knob.name}': default {knob.default} is outside "
                    f"{knob.low:g}..{knob.high:g}"
                )
            if knob.log and knob.low <= 0:
                raise ValueError(f"knob '{knob.name}': a log scale needs low > 0")
