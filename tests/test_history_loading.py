"""Every form a user has a history in loads to the same TrainingHistory; bad files say why."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from advisor.errors import AdvisorError
from advisor.history import as_history, history_from_logs, load_history

LOGS = {
    "loss": [1.0, 0.5, 0.25, 0.2],
    "accuracy": [0.5, 0.7, 0.8, 0.9],
    "val_loss": [1.1, 0.6, 0.5, 0.55],
}


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_json_dict_and_wrapped_json_load_alike(tmp_path: Path) -> None:
    plain = load_history(write(tmp_path, "h.json", json.dumps(LOGS)))
    wrapped = load_history(write(tmp_path, "w.json", json.dumps({"history": LOGS, "meta": {}})))
    assert plain.series == wrapped.series
    assert plain.n_epochs == 4
    assert plain.get("val_loss").epochs == (1, 2, 3, 4)  # type: ignore[union-attr]
    assert plain.metric_names == ("loss", "accuracy")


def test_keras_history_like_object_is_accepted() -> None:
    class FakeHistory:
        history = LOGS

    assert as_history(FakeHistory()).get("loss").values == (1.0, 0.5, 0.25, 0.2)  # type: ignore[union-attr]


def test_csvlogger_file_counts_epochs_from_one_and_reads_na(tmp_path: Path) -> None:
    text = "epoch,loss,val_loss\n0,1.0,NA\n1,0.5,0.7\n2,0.4,NA\n3,0.3,0.6\n"
    history = load_history(write(tmp_path, "log.csv", text))
    assert history.get("loss").epochs == (1, 2, 3, 4)  # type: ignore[union-attr]
    assert history.get("val_loss").epochs == (2, 4)  # type: ignore[union-attr]


def test_validation_freq_places_short_val_series_on_the_right_epochs() -> None:
    history = history_from_logs(
        {"loss": [1, 0.9, 0.8, 0.7, 0.6, 0.5], "val_loss": [0.95, 0.75, 0.55]}, source="x"
    )
    assert history.get("val_loss").epochs == (2, 4, 6)  # type: ignore[union-attr]


def test_nan_and_inf_are_kept_as_evidence(tmp_path: Path) -> None:
    history = load_history(
        write(tmp_path, "n.json", '{"loss": [1.0, NaN, Infinity], "val_loss": [1, 2, 3]}')
    )
    loss = history.get("loss")
    assert loss is not None and math.isnan(loss.values[1]) and loss.first_nonfinite_epoch() == 2


def test_learning_rate_is_not_a_metric() -> None:
    history = history_from_logs({"loss": [1, 0.5], "learning_rate": [0.1, 0.05]}, source="x")
    assert history.metric_names == ("loss",)
    assert history.learning_rate() is not None


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("empty.json", "", "file is empty"),
        ("corrupt.json", '{"loss": [1, 2', "invalid JSON at line 1"),
        ("list.json", "[1, 2, 3]", "expected a JSON object"),
        ("text.json", '{"loss": ["a", "b"]}', "non-numeric value 'a'"),
        ("scalar.json", '{"loss": 3}', "'loss' must be a list of numbers"),
        ("ragged.csv", "epoch,loss\n0,1.0\n1,0.5,9\n", "line 3 has 3 fields, the header has 2"),
        ("header.csv", "epoch,loss\n", "CSV has a header but no epochs"),
        ("binary.json", b"\x00\x01\x02PK", "binary file"),
        (
            "badfreq.json",
            '{"loss": [1, 2, 3, 4, 5], "val_loss": [1, 2, 3, 4]}',
            "no validation_freq",
        ),
    ],
)
def test_bad_files_raise_one_line_naming_the_file(
    tmp_path: Path, name: str, content: str | bytes, expected: str
) -> None:
    path = write(tmp_path, name, content)
    with pytest.raises(AdvisorError) as info:
        load_history(path)
    message = str(info.value)
    assert message.startswith(str(path)) and expected in message and "\n" not in message


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(AdvisorError, match="no such file"):
        load_history(tmp_path / "absent.json")
    with pytest.raises(AdvisorError, match="is a directory"):
        load_history(tmp_path)
