"""The search space the findings open: which fixes are candidates, and each knob's range.

A fix declares the space worth searching (:attr:`advisor.fix.Fix.knobs`); a finding says which
fixes it calls for and which way it points them (:attr:`advisor.findings.Finding.directions`).
This module joins the two, the way a diagnosis earns its keep over a blind search: it narrows
the space and chooses the direction.

- **Root cause first.** Fixes of the findings the report keeps are the candidates; fixes of
  findings another one explains (underfitting behind a broken output head) are optional
  extras that the search may add, never starts with.
- **Competing fixes are alternatives.** Fixes that do the same job another way (dropout, L2,
  elastic net) form one categorical slot, "one of them or none", never stacked by default.
- **Directions narrow ranges.** A finding that points a knob ``down`` keeps the part of the
  declared range below the user's own value (a learning-rate ``factor`` of 1e-4..1 for a
  diverging run), ``up`` the part above it (1..1e3 for a stall with tiny updates). Without a
  direction both sides stay, centred on a suggestion when one is given (a learning-rate range
  test's, as a factor of the user's rate), or else one decade each side of the user's own
  value for a log-scale ``factor`` (a learning rate x0.1..x10, as a tuner would search it).
- **Data repairs together.** Root-cause fixes of the data kind that sit in different slots
  mend different defects of the inputs (NaN values, wild scales, a raw target), and one alone
  may show nothing while another defect remains: NaN passes through a ``Normalization`` layer,
  imputed values still saturate an unscaled net. When there are two or more, the first start
  applies them all (``joint``); leaving one out afterwards still drops any that buys nothing.
- **The best start, retried.** ``retry_with`` (the learning rate) joins as an optional extra
  even when no finding calls for it: the best root-cause fix alone is retried with it added,
  since a repaired model rarely wants the user's own rate. Where nothing located the rate (the
  user's model learnt at no rate of the range test: ten sigmoid layers), the retry is placed
  where a range test on the best start's own, repaired model puts it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from advisor.findings import Finding
from advisor.fix import Direction, Fix, FixKind, Knob, Param

NO_FIX = "none"
# A knob named ``factor`` multiplies something of the user's run (plan edits' vocabulary:
# ScaleLearningRate, WidenHidden, ScaleUserRegularisation, ReduceLROnPlateau): 1 leaves it as is.
NEUTRAL_FACTOR = 1.0
# A centred knob is searched from centre / CENTRE_SPAN to centre * CENTRE_SPAN (one decade
# each side: the range test locates the rate within a decade, not better).
CENTRE_SPAN = 10.0


@dataclass(frozen=True)
class KnobSpace:
    """One knob as the search sees it: the fix's declared space narrowed by the findings.

    ``start`` is the value the first trials use (the fix's default, moved into the range when
    a direction excludes it, or the given centre). ``direction`` is the one the findings
    opened and the range was narrowed by (``either`` when nothing narrowed it). ``centred_on``
    is the suggestion the start came from: the range's centre when no direction narrowed it.
    """

    fix: str
    name: str
    start: Param
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    integer: bool = False
    choices: tuple[Param, ...] = ()
    direction: Direction = "either"
    centred_on: float | None = None

    @property
    def key(self) -> str:
        """The Optuna parameter name, ``fix.knob``."""
        return f"{self.fix}.{self.name}"

    @property
    def searched(self) -> bool:
        """False for a knob fixed at ``start`` (no range, or a range a direction closed)."""
        if self.choices:
            return len(self.choices) > 1
        return self.low is not None and self.high is not None and self.low < self.high


@dataclass(frozen=True)
class Slot:
    """One decision of the search: which of ``fixes`` to apply, or none (:data:`NO_FIX`).

    A slot holds one fix, or fixes that compete for one job. ``optional`` slots hold only
    fixes of explained findings: the first trials leave them out.
    """

    fixes: tuple[str, ...]
    optional: bool = False

    @property
    def param(self) -> str:
        """The Optuna parameter name of the slot's categorical choice."""
        return "fix:" + "|".join(self.fixes)

    @property
    def choices(self) -> tuple[str, ...]:
        return (NO_FIX, *self.fixes)


@dataclass(frozen=True)
class SearchSpace:
    """The slots and knobs opened by the findings, root-cause fixes first."""

    slots: tuple[Slot, ...]
    knobs: tuple[KnobSpace, ...] = ()
    retry_with: str | None = None
    # Root-cause data repairs of different slots, tried together as one more start.
    joint: tuple[str, ...] = ()

    def knobs_of(self, fix: str) -> tuple[KnobSpace, ...]:
        return tuple(knob for knob in self.knobs if knob.fix == fix)

    @property
    def root_fixes(self) -> tuple[str, ...]:
        return tuple(f for slot in self.slots if not slot.optional for f in slot.fixes)

    @property
    def extra_fixes(self) -> tuple[str, ...]:
        return tuple(f for slot in self.slots if slot.optional for f in slot.fixes)

    def baseline_params(self) -> dict[str, Param]:
        """The parameters of the user's own plan: every slot at :data:`NO_FIX`."""
        return {slot.param: NO_FIX for slot in self.slots}

    def start_params(self) -> list[dict[str, Param]]:
        """The catalogue's trials, which the search runs first so that it never does worse
        than the catalogue: the data repairs together (:attr:`joint`, when there are two or
        more: one defect left in the data can hide what mending another buys), then one trial
        per root-cause fix, alone, at its start values."""
        starts = [self._together(self.joint)] if len(self.joint) > 1 else []
        for slot in self.slots:
            if slot.optional:
                continue
            for fix in slot.fixes:
                starts.append(self._together((fix,)))
        return starts

    def _together(self, fixes: tuple[str, ...]) -> dict[str, Param]:
        """The user's plan with each of ``fixes`` chosen in its slot, at its start values."""
        params = self.baseline_params()
        for slot in self.slots:
            for fix in (f for f in slot.fixes if f in fixes):
                knobs = {k.key: k.start for k in self.knobs_of(fix) if k.searched}
                params.update({slot.param: fix, **knobs})
        return params

    @property
    def unlocated_retry_knob(self) -> KnobSpace | None:
        """The :attr:`retry_with` fix's log-scale knob that nothing located (no direction, no
        centre: the user's model learnt at no rate of the range test), if any: the retry
        measures it on the best start (see :meth:`retry_params`)."""
        knobs = self.knobs_of(self.retry_with) if self.retry_with is not None else ()
        return next((k for k in knobs if k.searched and k.log and k.direction == "either"
                     and k.centred_on is None and not k.choices), None)

    def retry_params(
        self, best: Mapping[str, Param], measured: float | None = None
    ) -> list[dict[str, Param]]:
        """``best`` (a start trial's parameters) with :attr:`retry_with` added at its knobs'
        start values. The :attr:`unlocated_retry_knob` is tried at ``measured`` (its value
        measured on ``best``'s own plan), clipped into its range, or, with no measurement,
        once on each side of the user's value (a quarter of the range in from either end:
        x0.32 and x3.2 of x0.1..x10); none when there is nothing to add (no retry fix, or
        ``best`` has it)."""
        slot = next((s for s in self.slots if self.retry_with in s.fixes), None)
        if slot is None or self.retry_with is None or best.get(slot.param, NO_FIX) != NO_FIX:
            return []
        knobs = {k.key: k.start for k in self.knobs_of(self.retry_with) if k.searched}
        tries = [knobs]
        unlocated = self.unlocated_retry_knob
        if unlocated is not None:
            assert unlocated.low is not None and unlocated.high is not None
            low, high = math.log(unlocated.low), math.log(unlocated.high)
            values = [math.exp(low + share * (high - low)) for share in (0.25, 0.75)]
            if measured is not None:
                values = [min(max(measured, unlocated.low), unlocated.high)]
            tries = [{**knobs, unlocated.key: value} for value in values]
        return [{**best, slot.param: self.retry_with, **values} for values in tries]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data, stored with a shared study so that workers read the space."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SearchSpace:
        slots = tuple(Slot(tuple(s["fixes"]), s["optional"]) for s in data["slots"])
        knobs = tuple(
            KnobSpace(**{**k, "choices": tuple(k["choices"])}) for k in data["knobs"]
        )
        return cls(slots, knobs, data.get("retry_with"), tuple(data.get("joint", ())))


def open_space(
    findings: Iterable[Finding],
    lookup: Callable[[str], Fix],
    *,
    explained: Iterable[Finding] = (),
    neutral: Mapping[str, float] | None = None,
    centres: Mapping[str, float] | None = None,
    stack_competing: bool = False,
    retry_with: str | None = None,
) -> SearchSpace:
    """The search space opened by ``findings`` (the ones the report keeps, best first) and
    ``explained`` (those precedence dropped: their fixes join as optional extras).

    ``neutral`` maps ``fix.knob`` to the knob value that reproduces the user's own run (a
    direction narrows relative to it; a ``factor`` knob's is 1 unless given). ``centres`` maps
    ``fix.knob`` to a suggested value (e.g. ``{"lower-lr.factor": 0.3}`` from a range test):
    a knob no finding gave a direction is searched around it; a directed knob starts there
    when it lies on the opened side (its range stays the side's). ``stack_competing`` gives
    every fix its own slot, so competing fixes may be stacked. ``retry_with`` joins as an
    optional extra when no finding calls for it, and the best start is retried with it.
    """
    findings, explained = list(findings), list(explained)
    root = _unique(fix for finding in findings for fix in finding.fixes)
    extras = [f for f in _unique([*(fix for finding in explained for fix in finding.fixes),
                                  *([retry_with] if retry_with else [])])
              if f not in root]
    fixes = {fix_id: lookup(fix_id) for fix_id in [*root, *extras]}
    groups = ([[f] for f in fixes] if stack_competing else _competing_groups(fixes))
    slots = tuple(Slot(tuple(g), optional=all(f in extras for f in g)) for g in groups)
    knobs = tuple(
        _knob_space(
            fix_id,
            knob,
            _direction([*findings, *explained], fix_id, knob.name),
            _neutral(neutral or {}, fix_id, knob),
            (centres or {}).get(f"{fix_id}.{knob.name}"),
            contested=len(_pointed([*findings, *explained], fix_id, knob.name)) > 1,
        )
        for fix_id, fix in fixes.items()
        for knob in fix.knobs
    )
    return SearchSpace(slots, knobs, retry_with, _data_repairs(slots, fixes))


def _data_repairs(slots: Iterable[Slot], fixes: Mapping[str, Fix]) -> tuple[str, ...]:
    """The first data fix of each root-cause slot that has one (see ``SearchSpace.joint``)."""
    firsts = (
        next((f for f in slot.fixes if fixes[f].kind == FixKind.DATA), None)
        for slot in slots
        if not slot.optional
    )
    return tuple(f for f in firsts if f is not None)


def _unique(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def _direction(findings: Iterable[Finding], fix: str, knob: str) -> Direction:
    """The way the findings point ``fix``'s knob (a finding's ``fix.knob`` entry before its
    ``fix`` one); two findings pointing it opposite ways leave it open."""
    pointed = _pointed(findings, fix, knob)
    return pointed.pop() if len(pointed) == 1 else "either"


def _pointed(findings: Iterable[Finding], fix: str, knob: str) -> set[Direction]:
    return {
        finding.directions.get(f"{fix}.{knob}", finding.directions.get(fix, "either"))
        for finding in findings
    } - {"either"}


def _neutral(neutral: Mapping[str, float], fix: str, knob: Knob) -> float | None:
    given = neutral.get(f"{fix}.{knob.name}")
    if given is not None:
        return given
    return NEUTRAL_FACTOR if knob.name == "factor" else None


def _competing_groups(fixes: Mapping[str, Fix]) -> list[list[str]]:
    """The candidates grouped by ``competes_with`` (either side declaring it is enough), each
    group in the candidates' order, groups ordered by their first member."""
    group_of = {fix_id: {fix_id} for fix_id in fixes}
    for fix_id, fix in fixes.items():
        for other in fix.competes_with:
            if other in group_of and group_of[other] is not group_of[fix_id]:
                merged = group_of[fix_id] | group_of[other]
                for member in merged:
                    group_of[member] = merged
    groups: list[list[str]] = []
    for fix_id in fixes:
        if not any(fix_id in g for g in groups):
            groups.append([f for f in fixes if f in group_of[fix_id]])
    return groups


def _knob_space(
    fix: str, knob: Knob, opened: Direction, neutral: float | None, centre: float | None,
    *, contested: bool = False,
) -> KnobSpace:
    integer = isinstance(knob.default, int) and not isinstance(knob.default, bool)
    space = KnobSpace(fix, knob.name, knob.default, knob.low, knob.high, knob.log, knob.step,
                      integer, knob.choices)
    if knob.choices:
        return replace(space, start=knob.default if knob.default in knob.choices else
                       knob.choices[0])
    if knob.low is None or knob.high is None:
        return space
    low, high = knob.low, knob.high
    if knob.direction != "either":  # the fix's own range is one-sided already
        space = replace(space, direction=knob.direction)
    elif opened != "either" and neutral is not None:
        low, high = (low, min(high, neutral)) if opened == "down" else (max(low, neutral), high)
        # A measured suggestion on the opened side is where the first trial starts (clipped
        # into the range when it lies beyond it: SGD at 1e-4 on an embedding measured x3500,
        # the range ends at x1000); one on the other side contradicts the finding, ignored.
        on_side = None
        if centre is not None and (centre >= neutral if opened == "up" else centre <= neutral):
            on_side = min(max(centre, low), max(low, high))
        space = replace(space, low=low, high=max(low, high), direction=opened,
                        centred_on=on_side)
    elif opened == "either" and centre is not None and knob.log:
        centre = min(max(centre, low), high)
        space = replace(space, low=max(low, centre / CENTRE_SPAN),
                        high=min(high, centre * CENTRE_SPAN), centred_on=centre)
    elif not contested and knob.log and knob.name == "factor" and neutral is not None:
        # Nothing says which way or where: a decade each side of the user's own value (when
        # findings disagree on the way, the whole declared range stays open).
        space = replace(space, low=max(low, neutral / CENTRE_SPAN),
                        high=min(high, neutral * CENTRE_SPAN))
    return replace(space, start=_start(space, float(knob.default), neutral))


def _start(space: KnobSpace, default: float, neutral: float | None) -> Param:
    """The centre when one was given; else the default when the range holds it; else the
    default mirrored about the user's value (a catalogue LR factor of 0.1 becomes 10 when the
    finding points up), clipped into the range."""
    assert space.low is not None and space.high is not None
    value = space.centred_on if space.centred_on is not None else default
    if not space.low <= value <= space.high and space.log and neutral and neutral > 0 and value > 0:
        value = math.exp(2 * math.log(neutral) - math.log(value))
    value = min(max(value, space.low), space.high)
    return round(value) if space.integer else value
