"""``advisor.Monitor``: the advisor's rules watching the user's own ``model.fit``.

``model.fit(..., callbacks=[advisor.Monitor()])`` judges the real run instead of a probing copy.
After each epoch the history so far goes through the same rule registry and engine as
``advisor check`` (:func:`advisor.engine.run_rules`); each finding is printed once, the first
time its rule reports it. Keras' own progress bar (``ProgbarLogger``) runs after the user's
callbacks and finishes an epoch's line only in its ``on_epoch_end``, so findings wait for the
next ``on_epoch_begin`` (or ``on_train_end``): printing earlier would cut the bar's line.
Rules about how a run ended (:data:`END_OF_RUN_RULES`) judge only the finished history.

Like ``EarlyStopping``, it stops training by setting ``model.stop_training``; ``stop_on`` is the
lowest severity that does so, and when it stops a run it restores the weights of the epoch with
the best ``monitor`` value, as ``EarlyStopping(restore_best_weights=True)`` does: a run stopped
for overfitting should not keep its worst weights. Epochs are Keras' own, counted from 1, in
every line printed and in :meth:`Monitor.report`; a finding whose numbers changed after its live
line (the validation minimum moves as the run goes on) is printed again at the end, so the
last line of each rule says what ``report()`` says. ``save`` writes the ``History.history`` dict
as JSON, the file ``advisor check`` and the pre-commit hook read; ``log_dir`` writes the
findings to TensorBoard (:mod:`advisor.tensorboard_text`).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
from rich.console import Console
from rich.text import Text

import advisor.report.summary  # noqa: F401  (installs the renderers print(report) uses)
from advisor.engine import MIN_EPOCHS, run_rules
from advisor.errors import AdvisorError
from advisor.findings import Finding, Severity
from advisor.history import Series, TrainingHistory
from advisor.metric_names import mode_of
from advisor.outcomes.report import AdviceReport, ProbeSummary
from advisor.registry import load_catalogue
from advisor.report.tables import SEVERITY_STYLE
from advisor.rule import Rule, RuleContext
from advisor.tensorboard_text import FindingsWriter, require_tensorboard
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
        monitor: the logged quantity whose best epoch ``restore_best_weights`` goes back to.
        mode: ``"min"`` or ``"max"``: whether a lower or higher ``monitor`` is better;
            ``"auto"`` reads it from the name as Keras does (losses and errors go down, scores
            go up) and is refused for a name that says neither.
        restore_best_weights: when the Monitor stops a run, set the model's weights back to
            those at the end of the best ``monitor`` epoch (EarlyStopping's behaviour).
        log_dir: a TensorBoard log folder; findings are written there as text under
            ``log_dir/advisor``. Needs TensorBoard installed.
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
        monitor: str = "val_loss",
        mode: str = "auto",
        restore_best_weights: bool = True,
        log_dir: str | os.PathLike[str] | None = None,
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
        self.best = BestEpoch(monitor, _resolve_mode(monitor, mode), keep=restore_best_weights)
        if log_dir is not None:
            require_tensorboard()
        self.log_dir = log_dir
        self.verbose = verbose
        self.stopped_by: Finding | None = None
        self._logs: dict[str, tuple[list[int], list[float]]] = {}
        self._findings: list[Finding] = []
        self._reported: dict[str, str] = {}
        self._pending: list[tuple[str, Finding]] = []
        self._tensorboard: FindingsWriter | None = None
        self._context = RuleContext()
        self._started = 0.0
        self._seconds = 0.0
        self._console = Console(stderr=True)

    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        self._logs, self._findings, self._reported, self._pending = {}, [], {}, []
        self.stopped_by = None
        self.best.reset()
        if self.log_dir is not None:
            self._tensorboard = FindingsWriter(self.log_dir)
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
        if self.stop_on is not None:
            self.best.update(epoch + 1, logs or {}, self.model)
        during_run = [rule for rule in self.rules if rule.id not in END_OF_RUN_RULES]
        for finding in self._judge(during_run):
            if self.stop_on is not None and finding.severity.rank >= self.stop_on.rank:
                self.stopped_by = self.stopped_by or finding
                self.model.stop_training = True

    def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
        self._seconds = time.perf_counter() - self._started
        self._judge(self.rules, final=True)
        self._print_pending()
        if self.stopped_by is not None:
            self._say(f"stopped training on {self.stopped_by.code} {self.stopped_by.rule}")
            restored = self.best.restore(self.model)
            if restored is not None:
                self._say(
                    f"restored the weights of epoch {restored}, the best {self.best.monitor} "
                    f"({self.best.value:.4g})"
                )
        if self._tensorboard is not None:
            self._tensorboard.close()
            self._tensorboard = None
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

    def _judge(self, rules: Sequence[Rule], *, final: bool = False) -> list[Finding]:
        """Run ``rules`` on the history so far; queue the findings whose message was not printed
        yet (new rules, or numbers that changed) and return the new rules' findings."""
        history = self.history()
        if history.n_epochs < MIN_EPOCHS or not history.has_validation:
            return []
        self._findings = run_rules(history, self._context, rules=rules)
        new = [f for f in self._findings if f.rule not in self._reported]
        # Mid-run a finding is printed once; at the end (all rules judged) it is printed again
        # if its numbers moved, so the last line of each rule is what report() says.
        changed = [
            f
            for f in self._findings
            if final and f.rule in self._reported and self._reported[f.rule] != f.message
        ]
        for finding in new + changed:
            self._reported[finding.rule] = finding.message
            when = "at the end (epoch {})" if finding in changed else "at epoch {}"
            self._pending.append((when.format(history.n_epochs), finding))
            if self._tensorboard is not None:
                self._tensorboard.write(history.n_epochs, finding)
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
            for when, finding in self._pending:
                self._console.print(_finding_line(when, finding), soft_wrap=True)
        self._pending = []


def _save_target(save: str | os.PathLike[str]) -> Path:
    """The absolute path ``save`` names, refused now (a folder, an existing file, a folder that
    is missing or unwritable): failing to write after a long fit would lose the history."""
    try:
        return claim_new_file(save)
    except AdvisorError as error:
        raise ValueError(f"Monitor cannot save to {os.fspath(save)!r}: {error}") from None


class BestEpoch:
    """The best ``monitor`` value so far and, when ``keep``, the weights at its epoch end.

    Updated as ``EarlyStopping`` updates its own: an epoch is the new best only when strictly
    better, so of equal values the first one wins, and the weights are copied only then.
    """

    def __init__(self, monitor: str, mode: str, *, keep: bool) -> None:
        self.monitor, self.mode, self.keep = monitor, mode, keep
        self.epoch: int | None = None
        self.value = math.nan
        self._weights: list[Any] | None = None

    def reset(self) -> None:
        self.epoch, self.value, self._weights = None, math.nan, None

    def update(self, epoch: int, logs: Mapping[str, Any], model: Any) -> None:
        """Take ``epoch`` (1-based) as the best if its ``monitor`` value beats the best so far."""
        try:
            value = float(logs[self.monitor])
        except (KeyError, TypeError, ValueError):  # not logged this epoch (validation_freq)
            return
        better = value < self.value if self.mode == "min" else value > self.value
        if math.isfinite(value) and (self.epoch is None or better):
            self.epoch, self.value = epoch, value
            if self.keep:
                self._weights = model.get_weights()

    def restore(self, model: Any) -> int | None:
        """Set ``model`` back to the best epoch's weights; that epoch, or None if none kept."""
        if self._weights is None:
            return None
        model.set_weights(self._weights)
        return self.epoch


def _resolve_mode(monitor: str, mode: str) -> str:
    """``mode``, decided before training: a wrong guess would restore the worst epoch."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"Monitor does not support mode={mode!r}; expected 'auto', 'min' or 'max'")
    resolved = mode_of(monitor) if mode == "auto" else mode
    if resolved is None:
        raise ValueError(
            f"Monitor cannot tell whether a higher or lower {monitor!r} is better: "
            "pass mode='min' or mode='max'"
        )
    return resolved


def _finding_line(when: str, finding: Finding) -> Text:
    fixes = f" (suggested fix: {', '.join(finding.fixes)})" if finding.fixes else ""
    return Text.assemble(
        "advisor: ",
        (finding.severity.value, SEVERITY_STYLE[finding.severity]),
        f" {finding.code} {finding.rule} {when}: {finding.message}{fixes}",
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
