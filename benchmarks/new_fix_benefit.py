"""Do the fixes that no rule suggests yet pay off where they should? Test loss, several seeds.

For each bundled script built for one of these fixes (stacked sigmoids that stall, a CNN that
overfits 8x8 digits, a regression that explodes under SGD): run the script as the user would and
keep its trained model and test split, then run ``advisor diagnose`` on it (the same
:func:`diagnose_script` the command uses, exported model refit on all training data) with each
fix set forced by a stand-in rule, for several advisor seeds, and score the model the advisor
hands out against the user's on the test split, which the advisor never sees (loss without
penalty). When the advisor kept the baseline, "fix plan" is the fix set's plan refit the same
way, to show what the fix itself would have done. Report only: the rules decide later which of
these fixes they suggest.
Run: ``.venv/bin/python benchmarks/new_fix_benefit.py [--seeds N] [script ...]``
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from _script_runs import SCRIPTS, run_as_user, score

from advisor.commands.diagnose import diagnose_script
from advisor.findings import Finding, Severity
from advisor.fixes.apply import apply_fixes
from advisor.fixes.selection import refit_on_all_training_data
from advisor.history import TrainingHistory
from advisor.outcomes.improvement import Improvement
from advisor.pipeline import AdviceOptions
from advisor.rule import Rule, RuleContext
from advisor.training.fit import fit_plan

CASES: dict[str, tuple[tuple[str, ...], ...]] = {
    "stalled_deep_sigmoid.py": (("relu-he",), ("adaptive-optimizer",), ("batch-norm",)),
    "overfit_digits_cnn.py": (("augment",), ("early-stopping", "augment")),
    "exploding_sgd_regression.py": (("clip-gradients",), ("lower-lr",)),
}


def forcing_rule(fixes: tuple[str, ...]) -> Rule:
    """A stand-in rule whose one finding suggests exactly ``fixes``."""

    def check(history: TrainingHistory, context: RuleContext) -> list[Finding]:
        return [RULE.finding("measuring " + ", ".join(fixes), fixes=fixes)]

    RULE = Rule("measured", "BEN001", Severity.WARNING, "forces a fix set", "", check)
    return RULE


def fix_plan_model(improvement: Improvement, fixes: tuple[str, ...], seed: int) -> Any:
    """The fix set's plan trained on all training data as an adopted fix would be, for when the
    advisor kept the baseline: what the fix itself does on the test split."""
    fixed_plan, _ = apply_fixes(improvement.baseline_plan, fixes)
    chosen = replace(improvement, chosen_plan=fixed_plan)
    refit = refit_on_all_training_data(
        chosen, seed=seed, run_fit=lambda request: fit_plan(request.plan, seed=request.seed)
    )
    return refit.final_model


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("scripts", nargs="*", default=list(CASES))
    args = parser.parse_args()
    print(
        f"{'script':28} {'fixes':24} {'seed':>4} {'user loss':>9} {'exported':>9} "
        f"{'fix plan':>9} {'metric':>8} {'user':>7} {'exported':>8} {'fix plan':>8} "
        f"{'adopted':>8} {'holdout':>12}"
    )
    for name in args.scripts:
        script = SCRIPTS / name
        user_model, x_test, y_test = run_as_user(script)
        per_user, metric, metric_user = score(user_model, x_test, y_test)
        for fixes in CASES[name]:
            rows: list[tuple[float, ...]] = []
            for seed in range(args.seeds):
                options = AdviceOptions(seed=seed, refit=True, rules=(forcing_rule(fixes),))
                report = diagnose_script(script, [], None, options)
                improvement = report.improvement
                assert improvement is not None
                per_exported, _, metric_exported = score(improvement.model, x_test, y_test)
                per_plan, _, metric_plan = per_exported, "", metric_exported
                if improvement.adopted == "baseline":
                    per_plan, _, metric_plan = score(
                        fix_plan_model(improvement, fixes, seed), x_test, y_test
                    )
                row = (np.mean(per_exported), np.mean(per_plan), metric_exported, metric_plan)
                rows.append(row)
                print(
                    f"{name:28} {'+'.join(fixes):24} {seed:4} {np.mean(per_user):9.4g} "
                    f"{row[0]:9.4g} {row[1]:9.4g} {metric:>8} {metric_user:7.4g} "
                    f"{row[2]:8.4g} {row[3]:8.4g} {improvement.adopted:>8} "
                    f"{improvement.verdict:>12}",
                    flush=True,
                )
            means = np.mean(rows, axis=0)
            print(
                f"{name:28} {'+'.join(fixes):24} mean {np.mean(per_user):9.4g} "
                f"{means[0]:9.4g} {means[1]:9.4g} {metric:>8} {metric_user:7.4g} "
                f"{means[2]:8.4g} {means[3]:8.4g}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
