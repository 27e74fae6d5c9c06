"""Files the advisor writes for the user: never over an existing file, never half-written."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from advisor.errors import AdvisorError
from advisor.user_files import claim_new_file, write_new_file


def test_a_claimed_path_is_absolute_and_refused_when_it_exists_or_is_a_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert claim_new_file("new.keras") == tmp_path / "new.keras"
    (tmp_path / "old.keras").write_text("mine")
    with pytest.raises(AdvisorError, match="already exists"):
        claim_new_file("old.keras")
    with pytest.raises(AdvisorError, match="is a folder"):
        claim_new_file(tmp_path)
    with pytest.raises(AdvisorError, match="cannot write in folder /proc"):
        claim_new_file("/proc/new.keras")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.keras"]  # the probe is gone


def test_a_file_that_appears_meanwhile_is_kept_and_nothing_is_left_behind(
    tmp_path: Path,
) -> None:
    target = tmp_path / "model.keras"

    def someone_else_saves_first(path: Path) -> None:
        path.write_text("ours")
        target.write_text("theirs")

    with pytest.raises(AdvisorError, match="appeared while the advisor ran"):
        write_new_file(target, someone_else_saves_first)
    assert target.read_text() == "theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]


def test_a_save_that_fails_part_way_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "model.keras"

    def disk_full(path: Path) -> None:
        path.write_bytes(b"PK\x03\x04 half a zip")
        raise OSError(28, "No space left on device")

    with pytest.raises(AdvisorError, match=r"No space left on device.*nothing was saved"):
        write_new_file(target, disk_full)
    assert list(tmp_path.iterdir()) == []
    write_new_file(target, lambda path: path.write_text("saved"))  # a rerun is not refused
    assert target.read_text() == "saved"


def test_of_two_concurrent_saves_one_saves_and_one_refuses(tmp_path: Path) -> None:
    target = tmp_path / "model.keras"
    both_written = threading.Barrier(2)
    outcomes: list[str] = []

    def save(content: str) -> None:
        def write(path: Path) -> None:
            path.write_text(content)
            both_written.wait()

        try:
            write_new_file(target, write)
            outcomes.append("saved")
        except AdvisorError:
            outcomes.append("refused")

    runs = [threading.Thread(target=save, args=(name,)) for name in ("a", "b")]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert sorted(outcomes) == ["refused", "saved"]
    assert target.read_text() in ("a", "b")
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]
