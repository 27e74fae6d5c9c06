"""Discovery of rules through the ``fit_advisor.rules`` entry-point group.

Built-in rules are registered in ``pyproject.toml`` exactly as a third-party pack would register
its own, so both load the same way. Like flake8, the registry checks each entry (name equals the
rule id, code matches the pattern, codes unique), sorts by code so output order never depends
on install order, and reports a pack that fails to load by name instead of crashing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from advisor.entry_points import EntryPoint, package_of, registered
from advisor.errors import AdvisorError
from advisor.rule import CODE_PATTERN, DOC_HEADINGS, ID_PATTERN, Rule

ENTRY_POINT_GROUP = "fit_advisor.rules"


@dataclass(frozen=True)
class Catalogue:
    """The loaded rules, plus one line per entry point that could not be loaded."""

    rules: tuple[Rule, ...]
    load_errors: tuple[str, ...]

    def find(self, key: str) -> Rule:
        """Look a rule up by id (``overfitting``) or code (``ADV101``), case-insensitively."""
        wanted = key.strip().lower()
        for rule in self.rules:
            if wanted in (rule.id, rule.code.lower()):
                return rule
        known = ", ".join(rule.id for rule in self.rules)
        raise AdvisorError(f"unknown rule '{key}'; known rules: {known}")

    def matching(self, key: str) -> list[Rule]:
        """The rule with this id or code, else every rule whose code starts with ``key``
        (``ADV4``: the probe rules), as ruff selects by code prefix."""
        wanted = key.strip().lower()
        exact = [rule for rule in self.rules if wanted in (rule.id, rule.code.lower())]
        by_prefix = [rule for rule in self.rules if wanted and rule.code.lower().startswith(wanted)]
        return exact or by_prefix or [self.find(key)]

    def selection(self, select: Sequence[str] = (), ignore: Sequence[str] = ()) -> tuple[Rule, ...]:
        """The rules named by ``select`` (all when empty) minus those named by ``ignore``.

        Names are ids, codes or code prefixes, as ruff's ``--select``/``--ignore`` take codes;
        an unknown name is an error rather than a silently empty selection.
        """
        chosen = {r.id for key in select for r in self.matching(key)} if select else None
        dropped = {r.id for key in ignore for r in self.matching(key)}
        return tuple(
            rule
            for rule in self.rules
            if (chosen is None or rule.id in chosen) and rule.id not in dropped
        )


@lru_cache(maxsize=1)
def load_catalogue() -> Catalogue:
    rules: list[Rule] = []
    errors: list[str] = []
    for entry in sorted(registered(ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            rule = _load(entry)
        except Exception as error:  # a broken pack must not take the others down
            errors.append(f"rule '{entry.name}' from {package_of(entry)} failed to load: {error}")
            continue
        clash = next((r for r in rules if r.code == rule.code), None)
        if clash is not None:
            errors.append(f"rule '{rule.id}' reuses code {rule.code} of rule '{clash.id}'")
            continue
        rules.append(rule)
    return Catalogue(rules=tuple(sorted(rules, key=lambda r: r.code)), load_errors=tuple(errors))


def _load(entry: EntryPoint) -> Rule:
    rule = entry.load()
    if not isinstance(rule, Rule):
        raise TypeError(f"{entry.value} is a {type(rule).__name__}, expected advisor.rule.Rule")
    if rule.id != entry.name:
        raise ValueError(f"entry point name '{entry.name}' differs from rule id '{rule.id}'")
    if not ID_PATTERN.match(rule.id):
        raise ValueError(f"rule id '{rule.id}' is not a lower-case slug")
    if not CODE_PATTERN.match(rule.code):
        raise ValueError(f"code '{rule.code}' does not match {CODE_PATTERN.pattern}")
    for field_name, ids in (("supersedes", rule.supersedes), ("explains", rule.explains)):
        bad = [rid for rid in ids if rid == rule.id or not ID_PATTERN.match(rid)]
        if bad:
            raise ValueError(f"{field_name} lists {', '.join(bad)}: not another rule's id")
    missing = [heading for heading in DOC_HEADINGS if heading not in rule.doc]
    if missing:
        raise ValueError(f"doc lacks the heading(s) {', '.join(missing)}")
    return rule
