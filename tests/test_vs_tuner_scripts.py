"""The faulty scripts of the tuner benchmark compile and follow the convention it relies on.

Running them is the benchmark's job (seconds each); this only reads them. The convention
(see benchmarks/vs_tuner.py): seeded through ``keras.utils.set_random_seed``, a
``keras.Sequential`` model named ``model`` (the tuner rebuilds it layer by layer), one
``model.fit`` on arrays, and a last ``model.evaluate(x_test, y_test, ...)`` on data no ``fit``
saw.
"""

from __future__ import annotations

import ast
import py_compile
import re
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ROOT

SCRIPTS = FIXTURES / "scripts"
BENCHMARK = ROOT / "benchmarks" / "vs_tuner.py"


def benchmark_cases() -> list[str]:
    """The scripts named in the benchmark's CASES, read without importing keras_tuner."""
    tree = ast.parse(BENCHMARK.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "CASES":
            return [key.value for key in node.value.keys]  # type: ignore[attr-defined]
    raise AssertionError("benchmarks/vs_tuner.py has no CASES")


def calls(tree: ast.AST, name: str) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and ast.unparse(node.func) == name
    ]


def test_every_pattern_of_issue_14_has_a_bundled_script() -> None:
    assert len(benchmark_cases()) == 10
    for name in benchmark_cases():
        assert (SCRIPTS / name).is_file(), name


@pytest.mark.parametrize("name", benchmark_cases())
def test_script_compiles_and_follows_the_benchmark_convention(name: str, tmp_path: Path) -> None:
    script = SCRIPTS / name
    py_compile.compile(str(script), cfile=str(tmp_path / "out.pyc"), doraise=True)
    tree = ast.parse(script.read_text())
    assert ast.get_docstring(tree), f"{name}: the docstring names the fault"
    assert calls(tree, "keras.utils.set_random_seed"), f"{name}: not seeded"
    assert calls(tree, "keras.Sequential"), f"{name}: the tuner rebuilds a Sequential"
    (fit,) = calls(tree, "model.fit")
    evaluations = calls(tree, "model.evaluate")
    assert evaluations, f"{name}: no evaluation on a test split"
    last = evaluations[-1]
    assert last.lineno > fit.lineno
    evaluated = ast.unparse(last.args[0])
    assert re.fullmatch(r"x_test", evaluated), f"{name}: evaluates {evaluated}, not x_test"
    assert ast.unparse(fit.args[0]) != "x_test"


def test_the_xor_keeps_all_four_rows_for_training() -> None:
    tree = ast.parse((SCRIPTS / "xor_four_rows.py").read_text())
    (fit,) = calls(tree, "model.fit")
    keywords = {keyword.arg for keyword in fit.keywords}
    assert not keywords & {"validation_split", "validation_data"}
