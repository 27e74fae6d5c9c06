"""Wall time of ``advisor check FILE`` and proof that checking never imports TensorFlow.

`advisor check` is meant for pre-commit hooks and CI, so it must start and finish fast; the
expensive part would be importing TensorFlow (seconds), which the rules must never do. This
times the installed command end to end (process start included) on one corpus history, then
runs the same check in a fresh interpreter and reports whether ``tensorflow`` or ``keras``
ended up in ``sys.modules``.

Exits 1 when the median time is above the goal or TensorFlow was imported. Run:
``.venv/bin/python benchmarks/check_speed.py [--runs N] [FILE]``
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILE = ROOT / "fixtures" / "histories" / "demo_overfitting.json"
ADVISOR = Path(sys.executable).parent / "advisor"
GOAL_SECONDS = 0.5
# Runs the check in-process, then reports which heavy frameworks the run imported.
PROBE = """
import contextlib, io, sys
import advisor.cli, rules.overfitting
with contextlib.redirect_stdout(io.StringIO()):
    advisor.cli.main(["check", sys.argv[1]])
print(",".join(m for m in ("tensorflow", "keras") if m in sys.modules) or "none")
"""


def time_check(path: Path, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = subprocess.run(
            [str(ADVISOR), "check", str(path)], capture_output=True, text=True, check=False
        )
        times.append(time.perf_counter() - started)
        if result.returncode not in (0, 1):
            raise SystemExit(f"advisor check failed ({result.returncode}): {result.stderr}")
    return times


def heavy_imports(path: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return result.stdout.strip().splitlines()[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args(argv)
    times = time_check(args.file, args.runs)
    median = statistics.median(times)
    imported = heavy_imports(args.file)
    fast, light = median < GOAL_SECONDS, imported == "none"
    print(f"advisor check {args.file.relative_to(ROOT) if args.file.is_absolute() else args.file}")
    print(f"{'measure':<28} {'value':>12}  {'goal':>10}")
    print(f"{'runs':<28} {args.runs:>12}")
    print(f"{'min wall time (s)':<28} {min(times):>12.3f}")
    print(
        f"{'median wall time (s)':<28} {median:>12.3f}  {'< ' + str(GOAL_SECONDS):>10}  "
        f"{'ok' if fast else 'MISSED'}"
    )
    print(f"{'max wall time (s)':<28} {max(times):>12.3f}")
    print(
        f"{'frameworks imported':<28} {imported:>12}  {'none':>10}  {'ok' if light else 'MISSED'}"
    )
    return 0 if fast and light else 1


if __name__ == "__main__":
    sys.exit(main())
