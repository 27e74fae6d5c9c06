"""Does the fix pay off on data the advisor never saw? Test loss/metric before and after.

For each fixture script: run it as the user would (its own ``fit`` for real) and keep the
trained model and the test split it evaluates on (``model.evaluate(x_test, y_test)`` at the end
of every fixture script); then run ``advisor diagnose --export fixed.keras`` on the same script,
load the exported model with plain Keras, and score both on that test split. The advisor never
sees the test split: it splits its holdout from the script's training data. Loss is the task's
loss without regularisation penalty. Goals: better on every faulty script, no worse beyond
noise on any script (a paired t-test on per-sample test losses), and the whole ``diagnose``
under 3x the plain script's wall time.
Exits 1 when a goal is missed. Run: ``.venv/bin/python benchmarks/fix_benefit.py``
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
from _script_runs import SCRIPTS, run_as_user, score, time_advisor, time_plain
from scipy import stats

FAULTS = {
    "overfit_noisy_labels.py": "overfitting",
    "overfit_digits.py": "overfitting (small data)",
    "unscaled_wine.py": "scale-imbalance",
    "missing_values_cancer.py": "missing-values",
    "diverging_lr.py": "divergence",
    "oscillating_lr.py": "oscillation",
}
HEALTHY = ("healthy_iris.py", "normalized_wine.py")
MAX_TIME_RATIO = 3.0
# A healthy script's fixed model counts as worse only when a paired t-test on per-sample test
# losses says so at this level: the advisor retrains on less data and another seed, which
# moves the test loss by itself.
SIGNIFICANCE = 0.05


def significantly_worse(before: np.ndarray, after: np.ndarray) -> bool:
    if not np.all(np.isfinite(after)):
        return bool(np.all(np.isfinite(before)))
    if not np.all(np.isfinite(before)) or not np.any(after - before):
        return False
    result = stats.ttest_rel(after, before)
    return bool(result.statistic > 0 and result.pvalue < SIGNIFICANCE)


def main() -> int:
    header = (
        f"{'script':26} {'fault':24} {'user loss':>10} {'fixed loss':>10} {'metric':>8} "
        f"{'user':>7} {'fixed':>7} {'adopted':>8} {'verdict':>13} {'time x':>6}"
    )
    print(header)
    missed: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        for name in (*FAULTS, *HEALTHY):
            script = SCRIPTS / name
            user_model, x_test, y_test = run_as_user(script)
            plain = time_plain(script)
            exported = Path(folder) / f"{script.stem}.keras"
            wall, report = time_advisor(script, "--export", str(exported))
            fixed_model = keras.saving.load_model(exported)
            per_before, metric, metric_before = score(user_model, x_test, y_test)
            per_after, _, metric_after = score(fixed_model, x_test, y_test)
            before, after = float(np.mean(per_before)), float(np.mean(per_after))
            ratio = wall / plain
            verdict = report["verdict"]
            print(
                f"{name:26} {FAULTS.get(name, 'healthy'):24} {before:10.4g} {after:10.4g} "
                f"{metric:>8} {metric_before:7.4g} {metric_after:7.4g} "
                f"{verdict['adopted']:>8} {verdict['result']:>13} {ratio:6.2f}"
            )
            better = (not math.isfinite(before) and math.isfinite(after)) or after < before
            if verdict["adopted"] == "fixed" and not better:
                missed.append(f"{name} (fix adopted but not better)")
            if name in FAULTS and verdict["adopted"] == "baseline":
                missed.append(f"{name} (no fix adopted)")
            if significantly_worse(per_before, per_after):
                missed.append(f"{name} (worse beyond noise)")
            if ratio >= MAX_TIME_RATIO:
                missed.append(f"{name} ({ratio:.1f}x time)")
    print(f"goals missed: {', '.join(missed) or 'none'}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
