"""Training histories from every form a Keras user has one in, normalised to one type.

A Keras ``History``, its ``.history`` dict, a JSON file of that dict and a ``CSVLogger`` CSV all
become a :class:`TrainingHistory`: named :class:`Series` of floats, each with the 1-based epochs
at which it was logged. Validation run every few epochs (``validation_freq > 1``) gives shorter
``val_*`` series whose epochs say when they were measured, so rules never misalign train and
validation. NaN and inf are kept: they are evidence (divergence), not input errors.

This module imports neither TensorFlow nor Keras; a ``History`` is recognised by its attribute.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisor.errors import AdvisorError

VALIDATION_PREFIX = "val_"
# Bounds on what a history file may be. A Keras History of 10,000 epochs and 50 metrics is
# under 10 MiB as JSON; anything larger, deeper or with longer numbers is not a history, and
# refusing it keeps /dev/zero, a JSON bomb or a huge integer from hanging or crashing the
# parser.
MAX_HISTORY_BYTES = 64 * 1024 * 1024
MAX_NUMBER_DIGITS = 309  # a float's range: 1.8e308 has 309 digits before the point
MAX_CSV_FIELD = 1024
# Keys that callbacks log next to the metrics; they describe the optimiser, not the fit.
LEARNING_RATE_KEYS = ("learning_rate", "lr")
_MISSING_MARKERS = {"", "na", "n/a", "none", "null"}


@dataclass(frozen=True)
class Series:
    """One logged quantity: ``values[i]`` was logged at (1-based) epoch ``epochs[i]``."""

    epochs: tuple[int, ...]
    values: tuple[float, ...]

    def __len__(self) -> int:
        return len(self.values)

    @property
    def all_finite(self) -> bool:
        return all(math.isfinite(v) for v in self.values)

    def first_nonfinite_epoch(self) -> int | None:
        for epoch, value in zip(self.epochs, self.values, strict=True):
            if not math.isfinite(value):
                return epoch
        return None


@dataclass(frozen=True)
class TrainingHistory:
    """All series of one training run, keyed by the names Keras logged them under."""

    series: Mapping[str, Series]
    n_epochs: int
    source: str

    def get(self, name: str) -> Series | None:
        return self.series.get(name)

    @property
    def metric_names(self) -> tuple[str, ...]:
        """Training-side names (``loss``, ``accuracy``, custom ones), without the lr keys."""
        return tuple(
            name
            for name in self.series
            if not name.startswith(VALIDATION_PREFIX) and name not in LEARNING_RATE_KEYS
        )

    @property
    def has_validation(self) -> bool:
        return any(name.startswith(VALIDATION_PREFIX) for name in self.series)

    def learning_rate(self) -> Series | None:
        for key in LEARNING_RATE_KEYS:
            if key in self.series:
                return self.series[key]
        return None


def history_from_logs(logs: Mapping[str, Sequence[Any]], *, source: str) -> TrainingHistory:
    """Build a history from a ``{name: [value per epoch]}`` mapping, as ``History.history`` is.

    Raises :class:`AdvisorError` naming ``source`` for anything that is not such a mapping.
    """
    if not isinstance(logs, Mapping) or not logs:
        raise AdvisorError(f"{source}: expected a non-empty mapping of metric name to values")
    columns: dict[str, list[float | None]] = {}
    for name, raw in logs.items():
        if not isinstance(name, str):
            raise AdvisorError(f"{source}: metric names must be strings, got {name!r}")
        if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence):
            raise AdvisorError(f"{source}: '{name}' must be a list of numbers, got {raw!r:.40}")
        columns[name] = [_to_float(value, name=name, source=source) for value in raw]
    return _history_from_columns(columns, source=source, epoch_numbers=None)


def as_history(obj: object, *, source: str = "<history>") -> TrainingHistory:
    """Accept a :class:`TrainingHistory`, a Keras ``History`` or its ``.history`` dict."""
    if isinstance(obj, TrainingHistory):
        return obj
    logs = getattr(obj, "history", obj)
    if not isinstance(logs, Mapping):
        raise AdvisorError(f"{source}: expected a Keras History or its .history dict")
    return history_from_logs(logs, source=source)


def load_history(path: Path) -> TrainingHistory:
    """Read a JSON dump of ``History.history`` or a ``CSVLogger`` file, judged by content."""
    source = str(path)
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_HISTORY_BYTES + 1)
    except FileNotFoundError:
        raise AdvisorError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise AdvisorError(f"{source}: is a directory, expected a history file") from None
    except OSError as error:
        raise AdvisorError(f"{source}: cannot read ({error.strerror})") from None
    if len(raw) > MAX_HISTORY_BYTES:
        raise AdvisorError(
            f"{source}: larger than {MAX_HISTORY_BYTES // 2**20} MiB, too large for a history"
        )
    if b"\x00" in raw:
        raise AdvisorError(f"{source}: binary file, expected a JSON or CSV history")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise AdvisorError(f"{source}: not UTF-8 text, expected a JSON or CSV history") from None
    if not text.strip():
        raise AdvisorError(f"{source}: file is empty")
    if text.lstrip().startswith(("{", "[")):
        return _parse_json(text, source)
    return _parse_csv(text, source)


class _TooLong(ValueError):
    """A number in the file with more digits than any float has."""


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise _TooLong(f"a number with {len(digits.lstrip('-'))} digits")
    return int(digits)


def _parse_json(text: str, source: str) -> TrainingHistory:
    try:
        data = json.loads(text, parse_int=_bounded_int)
    except json.JSONDecodeError as error:
        raise AdvisorError(
            f"{source}: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from None
    except _TooLong as error:
        raise AdvisorError(f"{source}: {error}, too long for a float") from None
    except RecursionError:  # the parser's own depth bound (Python's recursion limit)
        raise AdvisorError(
            f"{source}: JSON nested thousands of levels deep; a history is an object of lists"
        ) from None
    # Accept {"history": {...}} too: what saving History.__dict__ or a recorded corpus gives.
    if isinstance(data, dict) and isinstance(data.get("history"), dict):
        data = data["history"]
    if not isinstance(data, dict):
        raise AdvisorError(f"{source}: expected a JSON object of metric name to list of values")
    return history_from_logs(data, source=source)


def _parse_csv(text: str, source: str) -> TrainingHistory:
    try:
        rows = [row for row in _bounded_csv_reader(text.splitlines()) if row]
    except csv.Error as error:
        raise AdvisorError(f"{source}: invalid CSV: {error}") from None
    header, body = rows[0], rows[1:]
    if not body:
        raise AdvisorError(f"{source}: CSV has a header but no epochs")
    columns: dict[str, list[float | None]] = {name.strip(): [] for name in header}
    if len(columns) != len(header) or "" in columns:
        raise AdvisorError(f"{source}: CSV header has empty or repeated column names")
    for line_number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise AdvisorError(
                f"{source}: line {line_number} has {len(row)} fields, the header has {len(header)}"
            )
        for name, cell in zip(columns, row, strict=True):
            columns[name].append(_to_float(cell, name=name, source=source))
    epoch_column = columns.pop("epoch", None)
    epoch_numbers = None
    if epoch_column is not None:
        if any(value is None or not float(value).is_integer() for value in epoch_column):
            raise AdvisorError(f"{source}: the 'epoch' column must hold whole numbers")
        # CSVLogger counts epochs from 0; the advisor reports them from 1, as Keras prints them.
        epoch_numbers = [int(value) + 1 for value in epoch_column if value is not None]
    return _history_from_columns(columns, source=source, epoch_numbers=epoch_numbers)


def _bounded_csv_reader(lines: list[str]) -> Iterator[list[str]]:
    """``csv.reader`` with a field limit a history's numbers and names fit in many times over
    (the module's limit is global state, so it is restored afterwards)."""
    previous = csv.field_size_limit(MAX_CSV_FIELD)
    try:
        yield from csv.reader(lines)
    finally:
        csv.field_size_limit(previous)


def _to_float(value: object, *, name: str, source: str) -> float | None:
    """A logged value as float; None where it was not logged (CSV "NA", JSON null)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise AdvisorError(f"{source}: '{name}' holds a boolean, expected numbers")
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:
            raise AdvisorError(
                f"{source}: '{name}' holds a {len(str(abs(value)))}-digit number, beyond a float"
            ) from None
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in _MISSING_MARKERS:
            return None
        try:
            number = float(text)  # also takes "nan", "inf", "-inf" as Keras writes them
        except ValueError:
            pass
        else:
            if math.isinf(number) and "inf" not in text.lower():
                raise AdvisorError(f"{source}: '{name}' holds {text:.20}..., beyond a float")
            return number
    raise AdvisorError(f"{source}: '{name}' holds a non-numeric value {value!r:.40}")


def _history_from_columns(
    columns: Mapping[str, Sequence[float | None]],
    *,
    source: str,
    epoch_numbers: Sequence[int] | None,
) -> TrainingHistory:
    train_lengths = [
        len(values) for name, values in columns.items() if not name.startswith(VALIDATION_PREFIX)
    ]
    n_epochs = max(train_lengths or [len(values) for values in columns.values()])
    if n_epochs == 0:
        raise AdvisorError(f"{source}: the history holds no epochs")
    epochs_axis = list(epoch_numbers) if epoch_numbers is not None else list(range(1, n_epochs + 1))
    series: dict[str, Series] = {}
    for name, values in columns.items():
        logged = [(e, v) for e, v in zip(epochs_axis, values, strict=False) if v is not None]
        if len(values) < n_epochs and epoch_numbers is None:
            logged = _align_sparse(name, [v for v in values if v is not None], n_epochs, source)
        if logged:
            series[name] = Series(tuple(e for e, _ in logged), tuple(v for _, v in logged))
    if not series:
        raise AdvisorError(f"{source}: every value in the history is missing")
    return TrainingHistory(series=series, n_epochs=n_epochs, source=source)


def _align_sparse(
    name: str, values: Sequence[float], n_epochs: int, source: str
) -> list[tuple[int, float]]:
    """Place a shorter series on the epoch axis, as ``validation_freq=k`` would have logged it.

    Keras validates at epochs k, 2k, ... so a series of n values in an m-epoch run comes from the
    smallest k with m // k == n. A length no such k explains is an error, not a guess.
    """
    for freq in range(1, n_epochs + 1):
        if n_epochs // freq == len(values):
            return [(freq * (i + 1), v) for i, v in enumerate(values)]
    raise AdvisorError(
        f"{source}: '{name}' has {len(values)} values, which no validation_freq explains "
        f"for {n_epochs} epochs"
    )
