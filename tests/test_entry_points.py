"""Entry points are read from the installed packages' files exactly as importlib.metadata reads
them (same entries, same order, first distribution of a name wins), and a layout only
importlib.metadata can read (a zip on sys.path) is still discovered through it."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from advisor.entry_points import _read_all, package_of, registered

GROUP = "fit_advisor.test_group"
METADATA = "Metadata-Version: 2.1\nName: Fake-Pack\nVersion: {version}\n"
ENTRIES = f"[{GROUP}]\nanswer = fake_pack_module:ANSWER\n# a comment\n\n[other]\nx = y\n"


@pytest.fixture(autouse=True)
def fresh_scan() -> Iterator[None]:
    _read_all.cache_clear()
    yield
    _read_all.cache_clear()


def _install(root: Path, version: str, answer: int) -> None:
    """A distribution laid out as pip lays it out: a module and its ``.dist-info``."""
    info = root / f"fake_pack-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(METADATA.format(version=version))
    (info / "entry_points.txt").write_text(ENTRIES)
    (root / "fake_pack_module.py").write_text(f"ANSWER = {answer}\n")


def test_every_group_matches_importlib_metadata() -> None:
    read = _read_all()
    assert read is not None  # this environment is a plain layout
    for group in {entry.group for entry in read} | {"fit_advisor.rules", "console_scripts"}:
        expected = [(e.name, e.value, e.dist and e.dist.name) for e in entry_points(group=group)]
        got = [(e.name, e.value, e.dist and e.dist.name) for e in registered(group)]
        assert got == expected, group


def test_a_pack_on_sys_path_is_found_loaded_and_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install(tmp_path / "first", "2.0", answer=42)
    _install(tmp_path / "second", "1.0", answer=1)  # hidden: the same name, later on sys.path
    monkeypatch.syspath_prepend(str(tmp_path / "second"))
    monkeypatch.syspath_prepend(str(tmp_path / "first"))
    monkeypatch.delitem(__import__("sys").modules, "fake_pack_module", raising=False)
    (entry,) = registered(GROUP)
    assert (entry.name, entry.value, package_of(entry)) == (
        "answer",
        "fake_pack_module:ANSWER",
        "Fake-Pack",
    )
    assert entry.load() == 42


def test_a_zipped_pack_is_found_through_importlib_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "pack.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("fake_pack-3.0.dist-info/METADATA", METADATA.format(version="3.0"))
        zipped.writestr("fake_pack-3.0.dist-info/entry_points.txt", ENTRIES)
    monkeypatch.syspath_prepend(str(archive))
    assert _read_all() is None
    assert [(e.name, package_of(e)) for e in registered(GROUP)] == [("answer", "Fake-Pack")]
