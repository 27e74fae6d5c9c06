"""The contract between the fix step and a fix module, built-in or from a third-party pack.

A fix is a module-level :class:`Fix` value registered under the ``fit_advisor.fixes``
entry-point group (the entry-point name must equal ``Fix.id``), declared the way a rule is:
its id, kind, settings with their defaults *and* the space worth searching, what it competes
with, its doc and ``apply``. ``apply`` is a pure function ``(plan, params) -> plan | Skipped``
that appends :mod:`advisor.plan_edits` to the plan; it never touches Keras. The search reads
:attr:`Fix.knobs`, the patch reads the edits the fix made, ``advisor explain`` and the README
read :meth:`Fix.describe`: one place per fact.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from advisor.plan import TrainingPlan

FIX_ID_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
FIX_DOC_HEADINGS = ("What it does", "Why it helps", "Fix safety")


class FixKind(str, Enum):
    """What part of a training run a fix changes (the report groups fixes by it)."""

    DATA = "data"
    REGULARISER = "regulariser"
    OPTIMIZER = "optimizer"
    CALLBACK = "callback"
    LAYER = "layer"
    HEAD = "head"
    SCHEDULE = "schedule"
    BUDGET = "budget"


Param = float | int | str | bool
Direction = Literal["up", "down", "either"]


@dataclass(frozen=True)
class Knob:
    """One setting of a fix: its default, and the values worth searching.

    Numeric knobs search ``[low, high]`` (on a log scale when ``log``); categorical knobs
    search ``choices``. ``direction`` says which way from the user's own value the knob moves
    the run (a finding may open only one side of it: a diverging run wants a lower learning
    rate, a stalled one a higher). Names are Keras' vocabulary (``rate``, ``factor``,
    ``patience``, ``min_delta``).
    """

    name: str
    default: Param
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Param, ...] = ()
    direction: Direction = "either"
    step: float | None = None

    def describe(self) -> str:
        """``name=default`` and the space searched, as ``advisor explain`` shows it."""
        if self.choices:
            space = ", ".join(str(c) for c in self.choices)
        elif self.low is not None and self.high is not None:
            space = f"{self.low:g}..{self.high:g}{', log scale' if self.log else ''}"
        else:
            return f"`{self.name}={self.default}`"
        return f"`{self.name}={self.default}` (searched: {space})"


@dataclass(frozen=True)
class Skipped:
    """A fix that does not apply, and why. ``quiet`` when the fix has nothing to act on at all
    (augmentation for a table): the report then leaves it out rather than list the obvious."""

    fix: str
    reason: str
    quiet: bool = False


ApplyFunction = Callable[["TrainingPlan", Mapping[str, Param]], "TrainingPlan | Skipped"]


@dataclass(frozen=True)
class Fix:
    """A fix's identity, kind, settings and search space, doc and transformation.

    ``summary`` is one line for tables; ``doc`` is written under :data:`FIX_DOC_HEADINGS`.
    ``competes_with`` names fixes that do the same job another way (dropout, L2 and
    elastic-net all regularise): the search tries them as alternatives, never stacked by
    default. ``safety`` is ruff's notion: ``safe`` fixes keep what the model computes at
    inference time (a callback, a learning rate), ``unsafe`` ones change it (layers, head).
    """

    id: str
    kind: FixKind
    summary: str
    doc: str
    apply: ApplyFunction
    knobs: tuple[Knob, ...] = ()
    competes_with: tuple[str, ...] = ()
    safety: Literal["safe", "unsafe"] = "safe"

    def defaults(self) -> dict[str, Param]:
        """The knob values used when nothing is searched."""
        return {knob.name: knob.default for knob in self.knobs}

    def applied(self, plan: TrainingPlan, params: Mapping[str, Param] | None = None) -> (
        TrainingPlan | Skipped
    ):
        """``apply`` with the defaults filled in for every knob ``params`` leaves out."""
        return self.apply(plan, {**self.defaults(), **(params or {})})

    def describe(self) -> str:
        """What ``advisor explain`` and the README's fix table say about the fix."""
        knobs = ", ".join(knob.describe() for knob in self.knobs)
        return f"{self.summary}; {knobs}" if knobs else self.summary
