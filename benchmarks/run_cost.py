"""What the whole ``advisor diagnose --export`` costs next to the user's own ``python script.py``.

For each bundled faulty script, ``--pairs`` paired runs, one process at a time: the plain
script, then the advisor with ``--export`` (capture, probe, rules, search, measuring and the
exported model's training: everything a user waits for). Each run is a whole process (start and
TensorFlow import included); its wall time and its CPU time (user + system, of that one child,
from ``os.wait4``) are taken. The ratio of each pair is advisor / plain; the table shows the
median over the pairs. On a shared machine CPU time is the steadier of the two. The goal of the
issue is 1.5x. Run (one at a time, it is heavy):
``nice -n 5 .venv/bin/python benchmarks/run_cost.py [--pairs 3] [script.py ...]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "fixtures" / "scripts"
ADVISOR = Path(sys.executable).parent / "advisor"
QUIET = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
GOAL = 1.5
# A representative subset of the bundled faulty scripts: overfitting, a diverging learning
# rate, unscaled inputs, a CNN on raw pixels, and a tf.data pipeline with augmentation.
CASES = (
    "overfit_noisy_labels.py",
    "diverging_lr.py",
    "unscaled_wine.py",
    "cnn_raw_pixels.py",
    "tfdata_augmented.py",
)


def measured(command: list[str], cwd: Path) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system) and exit code of ``command`` alone."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=QUIET, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime, process.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("scripts", nargs="*", default=list(CASES))
    args = parser.parse_args()
    print(
        f"{'script':26} {'plain wall':>10} {'advisor wall':>12} {'wall x':>7} "
        f"{'plain cpu':>9} {'advisor cpu':>11} {'cpu x':>6}"
    )
    missed = []
    for name in args.scripts:
        script = SCRIPTS / name
        plain_runs, advisor_runs = [], []
        with tempfile.TemporaryDirectory() as temp:
            export = str(Path(temp) / "fixed.keras")
            command = [str(ADVISOR), "diagnose", "--export", export, str(script)]
            for _ in range(args.pairs):
                plain_runs.append(measured([sys.executable, str(script)], SCRIPTS)[:2])
                wall, cpu, code = measured(command, SCRIPTS)
                if code not in (0, 1):
                    raise SystemExit(f"{' '.join(command)} exited {code}")
                advisor_runs.append((wall, cpu))
        pairs = list(zip(advisor_runs, plain_runs, strict=True))
        wall_x = statistics.median(a[0] / p[0] for a, p in pairs)
        cpu_x = statistics.median(a[1] / p[1] for a, p in pairs)
        plain_wall, plain_cpu = (statistics.median(r[i] for r in plain_runs) for i in (0, 1))
        advisor_wall, advisor_cpu = (statistics.median(r[i] for r in advisor_runs) for i in (0, 1))
        print(
            f"{name:26} {plain_wall:10.1f} {advisor_wall:12.1f} {wall_x:7.2f} "
            f"{plain_cpu:9.1f} {advisor_cpu:11.1f} {cpu_x:6.2f}",
            flush=True,
        )
        if cpu_x > GOAL:
            missed.append(name)
    print(f"goal: at most {GOAL}x the plain run; missed by: {', '.join(missed) or 'none'}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
