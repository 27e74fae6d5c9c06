"""CPU time of ``advisor check FILE`` against a bare Python start, and what checking imports.

`advisor check` is meant for pre-commit hooks and CI, so it must start and finish at about
the speed of starting Python (goal: at most 5x ``python -c pass``). Both are timed as whole
processes, interleaved so that the machine's load falls on both alike, by the CPU time they
used (user + system, which a busy machine inflates less than wall time). Python may keep its
bytecode cache, as it does on a user's machine (``PYTHONDONTWRITEBYTECODE`` is dropped for the
runs). A fresh interpreter then runs the check and reports which heavy libraries it imported:
TensorFlow and Keras never, NumPy not either.

Exits 1 when the median ratio is above the goal or a heavy library was imported. Run:
``.venv/bin/python benchmarks/check_speed.py [--runs N] [FILE]``
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILE = ROOT / "fixtures" / "histories" / "demo_overfitting.json"
ADVISOR = Path(sys.executable).parent / "advisor"
GOAL_RATIO = 5.0
HEAVY = ("tensorflow", "keras", "numpy")
ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
# Runs the check in-process, then reports which heavy libraries the run imported.
PROBE = f"""
import contextlib, io, sys
import advisor.cli
with contextlib.redirect_stdout(io.StringIO()):
    advisor.cli.main(["check", sys.argv[1]])
print(",".join(m for m in {HEAVY!r} if m in sys.modules) or "none")
"""


def cpu_seconds(command: list[str]) -> float:
    """User + system CPU time of one run of ``command`` as a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=ENV)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}): {result.stderr}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def heavy_imports(path: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=ENV,
    )
    return result.stdout.strip().splitlines()[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)
    bare_command = [sys.executable, "-c", "pass"]
    check_command = [str(ADVISOR), "check", str(args.file)]
    concise_command = [*check_command, "--format", "concise"]  # no Rich at all
    cpu_seconds(check_command)  # the first run writes the bytecode cache, as an install would
    bare, check, concise = [], [], []
    for _ in range(args.runs):
        bare.append(cpu_seconds(bare_command))
        check.append(cpu_seconds(check_command))
        concise.append(cpu_seconds(concise_command))
    ratio = statistics.median(check) / statistics.median(bare)
    imported = heavy_imports(args.file)
    fast, light = ratio <= GOAL_RATIO, imported == "none"
    print(f"advisor check {args.file.relative_to(ROOT) if args.file.is_absolute() else args.file}")
    print(f"{'measure':<34} {'value':>9}  {'goal':>7}")
    print(f"{'runs (interleaved)':<34} {args.runs:>9}")
    print(f"{'python -c pass, median CPU (s)':<34} {statistics.median(bare):>9.3f}")
    print(f"{'advisor check, median CPU (s)':<34} {statistics.median(check):>9.3f}")
    print(f"{'advisor check, min CPU (s)':<34} {min(check):>9.3f}")
    verdict = "ok" if fast else "MISSED"
    print(f"{'ratio of the medians':<34} {ratio:>8.1f}x  {'<= ' + str(GOAL_RATIO):>7}  {verdict}")
    print(f"{'--format concise, median CPU (s)':<34} {statistics.median(concise):>9.3f}")
    concise_ratio = statistics.median(concise) / statistics.median(bare)
    print(f"{'--format concise, ratio':<34} {concise_ratio:>8.1f}x")
    mark = "ok" if light else "MISSED"
    print(f"{'heavy libraries imported':<34} {imported:>9}  {'none':>7}  {mark}")
    return 0 if fast and light else 1


if __name__ == "__main__":
    sys.exit(main())
