"""The pre-commit check hook installs without TensorFlow: ``advisor check`` needs only the base
dependencies, and training says by name which extra to install when it is missing."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import requires
from pathlib import Path

import pytest
import yaml

import advisor
from advisor import training_stack
from advisor.cli import main
from advisor.errors import AdvisorError
from tests.conftest import FIXTURES

ROOT = Path(__file__).resolve().parent.parent
TRAINING_DISTRIBUTIONS = ("tensorflow", "scikit-learn", "scipy")


@pytest.fixture
def without_tensorflow(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if TensorFlow were not installed (the base install without the extra)."""
    real = training_stack.find_spec
    monkeypatch.setattr(
        training_stack, "find_spec", lambda name: None if name == "tensorflow" else real(name)
    )


@pytest.mark.usefixtures("without_tensorflow")
def test_diagnose_without_tensorflow_names_it_in_one_line_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "train.py"
    script.write_text("raise SystemExit('the script must not run')\n")
    assert main(["diagnose", str(script)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == (
        "advisor: error: advisor diagnose trains models and needs TensorFlow, which is not "
        "installed: pip install 'fit-advisor[tensorflow]'"
    )


@pytest.mark.usefixtures("without_tensorflow")
def test_advise_without_tensorflow_names_it() -> None:
    with pytest.raises(AdvisorError, match=r"advise\(\) trains models and needs TensorFlow"):
        advisor.advise(object(), None)


def test_training_dependencies_are_an_extra_not_base_dependencies() -> None:
    declared = requires("fit-advisor") or []
    for name in TRAINING_DISTRIBUTIONS:
        (requirement,) = [r for r in declared if r.startswith(name) and "tensorflow" in r]
        assert 'extra == "tensorflow"' in requirement, requirement
    # The full install still depends on TensorFlow itself, not a CPU-only variant.
    assert any(r.startswith("tensorflow>=") for r in declared)


def test_the_check_hook_adds_no_dependency_and_the_diagnose_hook_adds_the_extra() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert "additional_dependencies" not in hooks["fit-advisor-check"]
    assert hooks["fit-advisor-diagnose"]["additional_dependencies"] == [".[tensorflow]"]


def test_check_imports_no_training_library() -> None:
    code = (
        "import sys; from advisor.cli import main; main(['check', sys.argv[1], '--format=json']);"
        "print(sorted(m for m in ('tensorflow', 'keras', 'sklearn', 'scipy') if m in sys.modules))"
    )
    history = FIXTURES / "histories" / "demo_overfitting.json"
    run = subprocess.run(
        [sys.executable, "-c", code, str(history)], capture_output=True, text=True, check=False
    )
    assert run.stdout.strip().splitlines()[-1] == "[]", run.stderr
