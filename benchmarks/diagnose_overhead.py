"""What ``advisor diagnose --no-fix`` costs next to the plain ``python script.py``.

For each fixture script: the plain run's wall time, the advisor's wall time, and the advisor's
own timings from its JSON report (capture = running the script up to its ``fit``; probe = the
probing fit; diagnosis = plan building, data profile and rules). The goal is that the diagnosis
itself costs under 5 % of the probe's training. Exits 1 when a script misses it. Run:
``.venv/bin/python benchmarks/diagnose_overhead.py``
"""

from __future__ import annotations

import sys

from _script_runs import SCRIPTS, time_advisor, time_plain

GOAL_SHARE = 0.05
CASES = (
    "overfit_digits.py",
    "unscaled_wine.py",
    "missing_values_cancer.py",
    "healthy_iris.py",
    "functional_model.py",
    "tfdata_pipeline.py",
)


def main() -> int:
    print(
        f"{'script':28} {'plain s':>8} {'advisor s':>9} {'capture':>8} {'probe':>7} "
        f"{'diagnosis':>9} {'share':>7}"
    )
    missed = []
    for name in CASES:
        plain = time_plain(SCRIPTS / name)
        wall, report = time_advisor(SCRIPTS / name, "--no-fix")
        timings = report["timings"]
        share = timings["diagnosis"] / timings["probe"]
        print(
            f"{name:28} {plain:8.2f} {wall:9.2f} {timings['capture']:8.2f} "
            f"{timings['probe']:7.2f} {timings['diagnosis']:9.3f} {share:7.2%}"
        )
        if share >= GOAL_SHARE:
            missed.append(name)
    print(
        f"goal: diagnosis < {GOAL_SHARE:.0%} of the probe's training; "
        f"missed by: {', '.join(missed) or 'none'}"
    )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
