"""``advisor.Monitor``: the advisor's rules watching the user's own ``model.fit``.

``model.fit(..., callbacks=[advisor.Monitor()])`` judges the real run instead of a probing copy.
After each epoch the history so far goes through the same rule registry and engine as
``advisor check`` (:func:`advisor.engine.run_rules`); each finding is printed once, the first
time its rule reports it. Keras' own progress bar (``ProgbarLogger``) runs after the user's
callbacks and finishes an epoch's line only in its ``on_epoch_end``, so findings wait for the
next ``on_epoch_begin`` (or ``on_train_end``): printing earlier would cut the bar's line.
Rules about how a run ended (:data:`END_OF_RUN_RULES`) judge only the finished history.

Like ``EarlyStopping``, it stops training by setting ``model.stop_training``; ``stop_on`` is the
lowest severity that does so. ``save`` writes the ``History.history`` dict as JSON, the file
``advisor check`` and the pre-commit hook read.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
from rich.console import Console
from rich.text import Text

from advisor.engine import MIN_EPOCHS, run_rules
from advisor.errors import AdvisorError
from advisor.findings import Finding, Severity
from advisor.history import Series, TrainingHistory
from advisor.outcomes.report import AdviceReport, ProbeSummary
from advisor.registry import load_catalogue
from advisor.report.tables import SEVERITY_STYLE
from advisor.rule import Rule, RuleContext
from advisor.user_files import claim_new_file, write_new_file

SOURCE = "model.fit"
# Rules whose verdict is about how a run *ended* ("still improving when training stopped"):
# mid-run every unfinished fit would look like that, so they judge only the finished history.
END_OF_RUN_RULES = ("underfitting",)


class Monitor(keras.callbacks.Callback):  # type: ignore[misc]
    """Run the advisor's history rules at each epoch end of the user's own ``fit``.

    Args:
        stop_on: lowest severity (``"info"``, ``"warning"``, ``"error"``) of a finding that stops
            training, or None to never stop.
        save: path of a JSON file to write the ``History.history`` dict to when training ends.
        select: rules to run (ids or codes, as ``--select``); all when empty.
        ignore: rules to skip (ids or codes, as ``--ignore``).
        n_classes: number of classes, for the chance-level check; inferred from the compiled
            loss and the model's output when None.
        verbose: 1 prints each finding when it first appears, 0 is silent.
    """

    def __init__(
        self,
        *,
        stop_on: str | None = None,
        save: str | os.PathLike[str] | None = None,
        select: Sequence[str] = (),
        ignore: Sequence[str] = (),
        n_classes: int | None = None,
        verbose: int = 1,
    ) -> None:
        super().__init__()
        allowed = tuple(s.value for s in Severity)
        if stop_on is not None and stop_on not in allowed:
            raise ValueError(
                f"Monitor does not support stop_on={stop_on!r}; expected one of {allowed} or None"
            )
        self.stop_on = None if stop_on is None else Severity(stop_on)
        self.save = None if save is None else _save_target(save)
        self.rules = load_catalogue().selection(select, ignore)
        self.n_classes = n_classes
        self.verbose = verbose
        self.stopped_by: Finding | None = None
        self._logs: dict[str, tuple[list[int], list[float]]] = {}
        self._findings: list[Finding] = []
        self._reported: set[str] = set()
        self._pending: list[tuple[int, Finding]] = []
        self._context = RuleContext()
        self._started = 0.0
        self._seconds = 0.0
        self._console = Console(stderr=True)

    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        self._logs, self._findings, self._reported, self._pending = {}, [], set(), []
        self.stopped_by = None
        self._context = RuleContext(n_classes=self.n_classes or _classes_of(self.model))
        self._started = time.perf_counter()

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        self._print_pending()

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        for name, value in (logs or {}).items():
            try:
                number = float(value)
            except (TypeError, ValueError):  # a per-class vector (F1Score(average=None))
                continue
            epochs, values = self._logs.setdefault(name, ([], []))
            epochs.append(epoch + 1)
            values.append(number)
        during_run = [rule for rule in self.rules if rule.id not in END_OF_RUN_RULES]
        for finding in self._judge(during_run):
            if self.stop_on is not None and finding.severity.rank >= self.stop_on.rank:
                self.stopped_by = self.stopped_by or finding
                self.model.stop_training = True

    def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
        self._seconds = time.perf_counter() - self._started
        self._judge(self.rules)
        self._print_pending()
        if self.stopped_by is not None:
            self._say(f"stopped training on {self.stopped_by.code} {self.stopped_by.rule}")
        if self._logs and not self.history().has_validation:
            self._say(
                "no validation metrics (val_*) were logged, so no rule could judge this fit; "
                "fit with validation_data or validation_split"
            )
        if self.save is not None and self._logs:
            history_dict = {name: values for name, (_, values) in self._logs.items()}
            text = json.dumps(history_dict, indent=1) + "\n"
            try:
                write_new_file(self.save, lambda path: path.write_text(text, encoding="utf-8"))
            except AdvisorError as error:  # said even at verbose=0: the history is not saved
                self._console.print(f"advisor: error: {error}", markup=False, highlight=False)

    def _judge(self, rules: Sequence[Rule]) -> list[Finding]:
        """Run ``rules`` on the history so far; queue and return the findings not seen before."""
        history = self.history()
        if history.n_epochs < MIN_EPOCHS or not history.has_validation:
            return []
        self._findings = run_rules(history, self._context, rules=rules)
        new = [f for f in self._findings if f.rule not in self._reported]
        self._reported.update(f.rule for f in new)
        self._pending.extend((history.n_epochs, f) for f in new)
        return new

    def history(self) -> TrainingHistory:
        """The epochs seen so far, each series at the epochs Keras logged it."""
        series = {
            name: Series(tuple(epochs), tuple(values))
            for name, (epochs, values) in self._logs.items()
        }
        n_epochs = max((s.epochs[-1] for s in series.values()), default=0)
        return TrainingHistory(series=series, n_epochs=n_epochs, source=str(self.save or SOURCE))

    def report(self) -> AdviceReport:
        """The findings on the whole run, as ``advise()`` reports them (without the fix step)."""
        history = self.history()
        return AdviceReport(
            source=SOURCE,
            findings=tuple(self._findings),
            probe=ProbeSummary(epochs=history.n_epochs, seconds=self._seconds, history=history),
            validation="user_fit",
        )

    def _say(self, message: str) -> None:
        if self.verbose:
            self._console.print(f"advisor: {message}", markup=False, highlight=False)

    def _print_pending(self) -> None:
        if self.verbose:
            for epoch, finding in self._pending:
                self._console.print(_finding_line(epoch, finding), soft_wrap=True)
        self._pending = []


def _save_target(save: str | os.PathLike[str]) -> Path:
    """The absolute path ``save`` names, refused now (a folder, an existing file, a folder that
    is missing or unwritable): failing to write after a long fit would lose the history."""
    try:
        return claim_new_file(save)
    except AdvisorError as error:
        raise ValueError(f"Monitor cannot save to {os.fspath(save)!r}: {error}") from None


def _finding_line(epoch: int, finding: Finding) -> Text:
    fixes = f" (suggested fix: {', '.join(finding.fixes)})" if finding.fixes else ""
    return Text.assemble(
        "advisor: ",
        (finding.severity.value, SEVERITY_STYLE[finding.severity]),
        f" {finding.code} {finding.rule} at epoch {epoch}: {finding.message}{fixes}",
    )


def _classes_of(model: Any) -> int | None:
    """Classes of a classification task, from the compiled loss and the output width."""
    loss = getattr(model, "loss", None)
    name = (loss if isinstance(loss, str) else type(loss).__name__).lower()
    if "binary" in name:
        return 2
    if "categorical" not in name:
        return None
    width = model.outputs[0].shape[-1] if getattr(model, "outputs", None) else None
    return int(width) if width else None
