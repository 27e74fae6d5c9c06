"""The contract between the engine and a rule module, built-in or from a third-party pack.

A rule is a module-level :class:`Rule` value registered under the ``fit_advisor.rules``
entry-point group (the entry-point name must equal ``Rule.id``). Its ``check`` is a pure
function of the history and the :class:`RuleContext`: no state, no I/O, no TensorFlow.
The rule's documentation is its module docstring, written under the headings in
:data:`DOC_HEADINGS`; ``advisor explain`` prints it.

Rules never call each other. When one diagnosis explains another's symptom (a diverged run
also has a rising ``val_loss``), the rule that knows declares it in ``supersedes`` and the
engine drops the superseded findings, so a third-party rule takes part in precedence the
same way as a built-in one. When the symptom is still worth seeing but follows from the
diagnosis (a loss on logits makes training look underfit), the rule ``explains`` it instead:
both findings stay, the symptom listed right after its cause and marked as its consequence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from advisor.findings import Finding, Severity
from advisor.history import TrainingHistory

if TYPE_CHECKING:  # names only: `advisor check` loads neither these nor NumPy (model_facts)
    from advisor.fix import Direction
    from advisor.head_targets import HeadTargets
    from advisor.model_facts import ModelProfile
    from advisor.probe_stats import ProbeStats

DOC_HEADINGS = ("What it detects", "Why it matters", "Evidence", "Fix")
CODE_PATTERN = re.compile(r"^[A-Z]{2,4}[0-9]{3}$")
ID_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
InputKind = Literal["features", "sequence", "image", "tokens"]


@dataclass(frozen=True)
class DataProfile:
    """Per-feature statistics of the training inputs, measured once by the diagnose step.

    Features are the columns of the inputs flattened to ``(samples, features)``; statistics
    ignore non-finite entries, which are counted separately. ``model_normalizes_inputs`` is
    True when the model's first layers already rescale its inputs (e.g. ``Normalization``).
    """

    n_samples: int
    feature_names: tuple[str, ...]
    means: tuple[float, ...]
    stds: tuple[float, ...]
    abs_max: tuple[float, ...]
    nonfinite_per_feature: tuple[int, ...]
    nonfinite_targets: int
    n_targets: int
    model_normalizes_inputs: bool = False
    # The factor the model's own Rescaling layers multiply the inputs by (None: none does).
    model_input_rescaling: float | None = None
    # "features" (a table's columns), "sequence" and "image" (features are the last axis,
    # pooled over steps or pixels), or "tokens" (ids or strings: no feature statistics).
    input_kind: InputKind = "features"
    value_min: float = 0.0  # the smallest finite input value (raw pixels are 0..255)
    # Mean and standard deviation of float targets of a single head (None otherwise).
    target_mean: float | None = None
    target_std: float | None = None
    # Each output head's targets, in training and (when known) in validation.
    heads: tuple[HeadTargets, ...] = ()
    # Where the script's validation slice came from ("validation_split", "validation_data"),
    # None when the script has none and the advisor holds out its own at random.
    validation_source: str | None = None
    # The validation inputs' per-feature means and standard deviations, in the order of
    # ``feature_names`` (empty when the script validates on nothing the advisor could read).
    val_means: tuple[float, ...] = ()
    val_stds: tuple[float, ...] = ()
    val_samples: int = 0


@dataclass(frozen=True)
class RuleContext:
    """What a rule may know beyond the history.

    ``n_classes`` is the number of classes of a classification task (None when unknown or not
    classification); ``data`` is present only when the advisor saw the training data, and
    ``model`` (output layer, loss, targets) only when it saw the model as well; ``probe`` only
    when it ran the instrumented probing fit (not for ``advisor check``).
    """

    n_classes: int | None = None
    data: DataProfile | None = None
    model: ModelProfile | None = None
    probe: ProbeStats | None = None
    # A model with several outputs has no single ``model``: one profile per output instead,
    # and the engine runs each model rule once per head (see advisor.engine).
    model_heads: tuple[ModelProfile, ...] = ()


CheckFunction = Callable[[TrainingHistory, RuleContext], list[Finding]]


@dataclass(frozen=True)
class Rule:
    """A rule's identity, default severity, one-line summary, documentation and check."""

    id: str
    code: str
    severity: Severity
    summary: str
    doc: str
    check: CheckFunction
    needs_data: bool = False
    # Ids of rules whose findings this rule's finding makes redundant; applied by the engine.
    supersedes: tuple[str, ...] = ()
    needs_model: bool = False
    # Judges the instrumented probe's statistics (RuleContext.probe); silent without them.
    needs_probe: bool = False
    # Ids of rules whose findings follow from this rule's: kept, listed after it, marked.
    explains: tuple[str, ...] = ()

    @property
    def input(self) -> str:
        """What the rule reads beyond the history: skipped when the context lacks it."""
        if self.needs_model:
            return "model"
        if self.needs_probe:
            return "probe"
        return "data" if self.needs_data else "history"

    def finding(
        self,
        message: str,
        *,
        evidence: dict[str, object] | None = None,
        fixes: tuple[str, ...] = (),
        directions: Mapping[str, Direction] | None = None,
        severity: Severity | None = None,
    ) -> Finding:
        """A finding stamped with this rule's id and code, so rules never spell them twice."""
        return Finding(
            rule=self.id,
            code=self.code,
            severity=severity or self.severity,
            message=message,
            evidence=evidence or {},
            fixes=fixes,
            directions=directions or {},
        )
