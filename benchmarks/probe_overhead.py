"""What the probe's instrumentation (gradients, dead and saturated units) costs the probing fit.

For each fixture script, ``advisor diagnose --no-fix`` reports the probing fit's wall time and
the seconds the instrumentation spent measuring (tracing its graph once, then one forward and
backward pass on a fixed batch at each of five records). The measurements run in inference
mode and change nothing in the training, so their own time is exactly what they add. The goal
is that they cost under 5 % of the probing fit. Exits 1 when a script misses it. Run:
``.venv/bin/python benchmarks/probe_overhead.py``
"""

from __future__ import annotations

import sys

from _script_runs import SCRIPTS, time_advisor

GOAL_SHARE = 0.05
CASES = (
    "overfit_noisy_labels.py",
    "oscillating_lr.py",
    "unscaled_wine.py",
    "healthy_iris.py",
    "functional_model.py",
    "deep_sigmoid_sgd.py",
    "dead_relu_high_lr.py",
    "exploding_regression.py",
)


def main() -> int:
    print(f"{'script':28} {'epochs':>6} {'probe s':>8} {'measuring s':>11} {'share':>7}")
    missed = []
    shares = []
    for name in CASES:
        _, report = time_advisor(SCRIPTS / name, "--no-fix")
        probe = report["probe"]
        measuring = probe["instrumentation"]["seconds"]
        share = measuring / probe["seconds"]
        shares.append(share)
        print(
            f"{name:28} {probe['epochs']:>6} {probe['seconds']:8.2f} {measuring:11.3f} {share:7.2%}"
        )
        if share >= GOAL_SHARE:
            missed.append(name)
    print(
        f"median share {sorted(shares)[len(shares) // 2]:.2%}; goal: instrumentation < "
        f"{GOAL_SHARE:.0%} of the probing fit; missed by: {', '.join(missed) or 'none'}"
    )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
