"""Output formats load through the ``fit_advisor.formats`` entry points, checked like rules, and
each writes the typed results; a third-party format takes part like a built-in one."""

from __future__ import annotations

import io
from importlib.metadata import EntryPoint
from typing import TextIO

import pytest

from advisor.cli import main
from advisor.errors import AdvisorError
from advisor.findings import Finding, Severity
from advisor.registry import load_catalogue
from advisor.report import formats
from advisor.report.formats import ENTRY_POINT_GROUP, Format, format_names, load_format
from advisor.report.located import Located
from advisor.report.results import Results
from tests.conftest import FIXTURES

DEMO = FIXTURES / "histories" / "demo_overfitting.json"


def _codes_only(results: Results, out: TextIO) -> None:
    out.write(" ".join(f.code for f in results.findings) + "\n")


CODES = Format(name="codes", write=_codes_only)
MISNAMED = Format(name="other", write=_codes_only)


@pytest.fixture
def with_codes_format(monkeypatch: pytest.MonkeyPatch) -> None:
    """A third-party package that registered ``codes``, as its pyproject.toml would."""
    entries = dict(formats._entries())
    entries["codes"] = (EntryPoint("codes", "tests.test_format_registry:CODES", ENTRY_POINT_GROUP),)
    monkeypatch.setattr(formats, "_entries", lambda: entries)


def test_builtin_formats_are_registered_sorted() -> None:
    assert format_names() == ("concise", "github", "json", "rich", "sarif")
    for name in format_names():
        assert load_format(name).name == name


@pytest.mark.usefixtures("with_codes_format")
def test_a_registered_format_is_a_format_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(DEMO), "--format", "codes"]) == 1
    assert capsys.readouterr().out == "ADV101\n"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("tests.test_format_registry:MISNAMED", "differs from format name"),
        ("tests.test_format_registry:DEMO", "expected a Format"),
        ("tests.no_such_module:FORMAT", "No module named"),
    ],
)
def test_a_broken_format_is_named_not_raised(
    monkeypatch: pytest.MonkeyPatch, target: str, expected: str
) -> None:
    entry = EntryPoint("codes", target, ENTRY_POINT_GROUP)
    monkeypatch.setattr(formats, "_entries", lambda: {"codes": (entry,)})
    with pytest.raises(AdvisorError, match=f"format 'codes' from .* failed to load: .*{expected}"):
        load_format("codes")


def test_two_packages_claiming_one_name_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    both = tuple(
        EntryPoint("codes", f"tests.test_format_registry:{value}", ENTRY_POINT_GROUP)
        for value in ("CODES", "MISNAMED")
    )
    monkeypatch.setattr(formats, "_entries", lambda: {"codes": both})
    with pytest.raises(AdvisorError, match="format 'codes' is registered twice"):
        load_format("codes")


def test_each_format_writes_the_typed_results() -> None:
    finding = Finding("overfitting", "ADV101", Severity.WARNING, "val_loss rose")
    results = Results(
        "check",
        [Located("h.json", [finding])],
        errors=["bad.json: no such file"],
        rules=load_catalogue().selection(["overfitting"]),
    )
    written = {}
    for name in format_names():
        out = io.StringIO()
        load_format(name).write(results, out)
        written[name] = out.getvalue()
    assert written["concise"].splitlines()[0] == "h.json:1:1: ADV101 val_loss rose"
    assert '"ruleId": "ADV101"' in written["sarif"] and "bad.json" in written["sarif"]
    assert written["github"].startswith("::warning file=h.json,line=1,title=ADV101 overfitting::")
    assert '"errors": [\n    "bad.json: no such file"' in written["json"]
    assert "val_loss rose" in written["rich"]
