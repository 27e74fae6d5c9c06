"""What the fix step measured and decided, rendered with Rich and exported as JSON or .keras.

The plan a user gets (``chosen_plan``, ``--export``) is the fixed one only when the fix
was better on validation *and* not worse on the holdout; otherwise it is the baseline, and the
verdict says why. The model handed out is that plan retrained on all the training data the
script gave (holdout included, as the user's own run had it) when ``final_model`` is set; the
numbers shown were measured before that refit, on the holdout. A fix whose gain is within
noise is still adopted when its mean is better, but never described as an improvement.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from advisor.errors import AdvisorError
from advisor.fixes.catalogue import DROPOUT_RATE, L2_FACTOR, Skipped
from advisor.fixes.comparison import Comparison
from advisor.plan import CallbackSpec, TrainingPlan

Adopted = Literal["fixed", "baseline"]
_VERDICT_STYLE = {"improved": "bold green", "within-noise": "yellow", "worse": "bold red"}


@dataclass(frozen=True)
class Candidate:
    """One combination of fixes that was trained, and its validation loss (no penalty)."""

    fixes: tuple[str, ...]
    validation_loss: float
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Improvement:
    baseline_plan: TrainingPlan
    chosen_plan: TrainingPlan
    chosen_model: Any
    adopted: Adopted
    skipped: tuple[Skipped, ...]
    candidates: tuple[Candidate, ...]
    baseline_validation_loss: float
    comparison: Comparison | None
    reason: str
    final_model: Any = None

    @property
    def model(self) -> Any:
        """The model to use: the refit on all training data when there is one."""
        return self.chosen_model if self.final_model is None else self.final_model

    @classmethod
    def without_fix(
        cls, plan: TrainingPlan, model: Any, skipped: tuple[Skipped, ...], validation_loss: float
    ) -> Improvement:
        reason = (
            "no applicable fix for these findings"
            if skipped
            else "no finding suggests a fix: the baseline is kept"
        )
        return cls(plan, plan, model, "baseline", skipped, (), validation_loss, None, reason)

    @classmethod
    def measured(
        cls,
        *,
        baseline_plan: TrainingPlan,
        baseline_model: Any,
        fixed_plan: TrainingPlan,
        fixed_model: Any,
        skipped: tuple[Skipped, ...],
        candidates: tuple[Candidate, ...],
        baseline_validation_loss: float,
        comparison: Comparison,
    ) -> Improvement:
        best_validation = min(c.validation_loss for c in candidates)
        if not best_validation < baseline_validation_loss:  # losses arrive NaN-free (as inf)
            adopted: Adopted = "baseline"
            reason = (
                f"no fix lowered the validation loss ({baseline_validation_loss:.4g} without, "
                f"{best_validation:.4g} at best with a fix): the baseline is kept"
            )
        elif comparison.verdict == "worse" or not comparison.loss.better:
            adopted = "baseline"
            reason = "the fix was better on validation but not on the holdout: baseline kept"
        else:
            adopted = "fixed"
            reason = comparison.statement
        chosen = (
            (fixed_plan, fixed_model) if adopted == "fixed" else (baseline_plan, baseline_model)
        )
        return cls(
            baseline_plan,
            chosen[0],
            chosen[1],
            adopted,
            skipped,
            candidates,
            baseline_validation_loss,
            comparison,
            reason,
        )

    @property
    def applied(self) -> tuple[str, ...]:
        return self.chosen_plan.applied_fixes

    @property
    def verdict(self) -> str:
        if self.comparison is None:
            return "no-fix"
        if self.adopted == "baseline" and self.comparison.verdict != "worse":
            return "no-gain"
        return self.comparison.verdict

    def export(self, path: Path) -> None:
        """Save the adopted model; it takes the user's raw inputs and is compiled with their
        loss and metrics, so ``keras.saving.load_model(path).evaluate(x, y)`` works."""
        self.model.save(path)

    def to_dict(self) -> dict[str, Any]:
        comparison = self.comparison
        metrics = comparison.metrics if comparison else ()
        return {
            "fixes_applied": list(self.applied),
            "fixes_skipped": [{"fix": s.fix, "reason": s.reason} for s in self.skipped],
            "candidates": [
                {
                    "fixes": list(c.fixes),
                    "validation_loss": c.validation_loss,
                    "notes": list(c.notes),
                }
                for c in self.candidates
            ],
            "baseline": {
                m.name: {"mean": m.baseline, "spread": m.baseline_spread} for m in metrics
            },
            "fixed": {m.name: {"mean": m.fixed, "spread": m.fixed_spread} for m in metrics},
            "verdict": {
                "result": self.verdict,
                "adopted": self.adopted,
                "statement": self.reason,
                "p_value": comparison.p_value if comparison else None,
                "test": comparison.test if comparison else None,
                "repeats": comparison.repeats if comparison else 0,
                "measured_on": self.baseline_plan.data.measured_on,
            },
        }

    def render(self) -> RenderableType:
        parts: list[RenderableType] = [Text("Fixes", style="bold")]
        parts.append(Text(f"applied: {', '.join(self.applied) or 'none'}"))
        if self.candidates:
            tried = "; ".join(
                f"{' + '.join(c.fixes)} {c.validation_loss:.4g}" for c in self.candidates
            )
            parts.append(
                Text(
                    f"validation loss (selects the fix): baseline "
                    f"{self.baseline_validation_loss:.4g}; {tried}",
                    style="dim",
                )
            )
        parts.extend(Text(f"skipped {s.fix}: {s.reason}", style="dim") for s in self.skipped)
        rebuild_notes = dict.fromkeys(note for c in self.candidates for note in c.notes)
        parts.extend(Text(f"note: {note}", style="dim") for note in rebuild_notes)
        if self.comparison is not None:
            parts.append(
                _before_after(
                    self.comparison.metrics,
                    self.comparison.repeats,
                    self.baseline_plan.data.measured_on,
                )
            )
        style = _VERDICT_STYLE.get(self.verdict, "yellow")
        parts.append(Text(f"verdict: {self.verdict} - {self.reason}", style=style))
        if self.final_model is not None:
            parts.append(
                Text(
                    f"the model handed out is the {self.adopted} plan retrained on all training "
                    "data (holdout included); the numbers above were measured before that refit",
                    style="dim",
                )
            )
        if self.adopted == "fixed":
            parts.append(Text("To get the same result, add to your script:", style="bold"))
            snippet = code_snippet(self.chosen_plan)
            parts.append(Syntax(snippet, "python", theme="ansi_dark", word_wrap=True))
        return Group(*parts)


def _before_after(metrics: Sequence[Any], repeats: int, measured_on: str) -> Table:
    title = (
        "Holdout (never trained or selected on)"
        if measured_on == "holdout"
        else "Validation (it also chose the fix: optimistic, weak evidence)"
    ) + (f", {repeats} seeds" if repeats > 1 else "")
    table = Table(title=title, title_justify="left")
    for column in ("metric", "baseline", "fixed", "delta"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for m in metrics:
        spread = repeats > 1
        good = m.better and math.isfinite(m.delta)
        table.add_row(
            m.name,
            _number(m.baseline, m.baseline_spread if spread else None),
            _number(m.fixed, m.fixed_spread if spread else None),
            Text(
                f"{m.delta:+.4g}" if math.isfinite(m.delta) else "n/a",
                style="green" if good or not math.isfinite(m.baseline) else "red",
            ),
        )
    return table


def _number(value: float, spread: float | None) -> str:
    return f"{value:.4g}" if spread is None else f"{value:.4g} ± {spread:.2g}"


def code_snippet(plan: TrainingPlan) -> str:
    """The lines a user adds to their own script to get the fixed plan."""
    lines: list[str] = []
    fixes = plan.applied_fixes
    if "impute" in fixes:
        lines += [
            "from sklearn.impute import SimpleImputer",
            "imputer = SimpleImputer(strategy='mean').fit(x_train)  # NaN -> training mean",
            "x_train = imputer.transform(x_train)  # and the same for every x you predict on",
        ]
    if "standardize" in fixes:
        lines += [
            "normalizer = keras.layers.Normalization(axis=-1)",
            "normalizer.adapt(x_train)",
            "model = keras.Sequential([keras.Input(x_train.shape[1:]), normalizer, model])",
        ]
    if "scale-target" in fixes:
        lines += [
            "y_mean, y_std = y_train.mean(), y_train.std()",
            "model.fit(x_train, (y_train - y_mean) / y_std, ...)  # validation targets alike",
            "model = keras.Sequential([model, keras.layers.Rescaling(y_std, offset=y_mean)])",
        ]
    if "dropout" in fixes:
        lines.append(f"# after each hidden Dense layer: keras.layers.Dropout({DROPOUT_RATE})")
    if "l2" in fixes:
        lines.append(
            f"# on each Dense/Conv layer: kernel_regularizer=keras.regularizers.L2({L2_FACTOR})"
        )
    if "lower-lr" in fixes:
        lines.append(_lower_lr_line(plan))
    added = _callbacks_added_by_fixes(plan)
    if added:
        lines.append("callbacks = [")
        for spec in added:
            arguments = ", ".join(f"{k}={v!r}" for k, v in spec.kwargs.items())
            lines.append(f"    keras.callbacks.{spec.name}({arguments}),")
        lines.append("]")
        lines.append("model.fit(..., callbacks=callbacks)")
    return "\n".join(lines)


def _lower_lr_line(plan: TrainingPlan) -> str:
    factor = plan.learning_rate_factor
    optimizer = plan.compile.optimizer
    rate = None if isinstance(optimizer, str) else optimizer.get("config", {}).get("learning_rate")
    if isinstance(rate, int | float):
        name = plan.compile.optimizer_name
        return f"optimizer = keras.optimizers.{name}(learning_rate={rate * factor:.3g})"
    return f"# multiply your optimizer's learning rate by {factor:g}"


def _callbacks_added_by_fixes(plan: TrainingPlan) -> list[CallbackSpec]:
    """The callbacks a fix put in (a fix is skipped when the script already has its callback,
    so these names never collide with the user's own)."""
    fix_callbacks = {"early-stopping": "EarlyStopping", "lr-decay": "ReduceLROnPlateau"}
    added = {fix_callbacks[f] for f in plan.applied_fixes if f in fix_callbacks}
    return [c for c in plan.callbacks if c.name in added]


def check_export_path(path: Path) -> None:
    """Refuse before any training: a wrong suffix or an existing file (never overwritten)."""
    if path.suffix != ".keras":
        raise AdvisorError(f"{path}: --export needs a path ending in .keras")
    if path.exists():
        raise AdvisorError(f"{path}: already exists; the advisor never overwrites files")
    if not path.parent.exists():
        raise AdvisorError(f"{path}: folder {path.parent} does not exist")
