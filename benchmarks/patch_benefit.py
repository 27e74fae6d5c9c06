"""Does the patch pay off? The user's script against the script patched by ``--diff``.

For each bundled faulty script: ``advisor diagnose SCRIPT --diff`` (as a user would run it),
the diff applied with ``git apply`` to a copy of the script's folder, then the original and the
patched script each run as the user would, over several seeds (every
``keras.utils.set_random_seed`` of the script shifted alike), and their trained models scored on
the script's own test split, which the advisor never sees (task loss without any penalty, and
the first compiled metric). A script whose fix was not adopted gets no diff, and says so.
Run: ``.venv/bin/python benchmarks/patch_benefit.py [--seeds N] [script ...]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from _script_runs import ADVISOR, QUIET, SCRIPTS, run_as_user, score

DEFAULT_SCRIPTS = ("overfit_noisy_labels.py", "unscaled_wine.py", "missing_values_cancer.py")


def patch_of(script: Path) -> tuple[str, str]:
    """The diff ``--diff`` prints for ``script`` and what it said on stderr."""
    done = subprocess.run(
        [str(ADVISOR), "diagnose", str(script), "--diff"],
        capture_output=True,
        text=True,
        env=QUIET,
        check=False,
    )
    if done.returncode == 2:
        raise RuntimeError(f"advisor diagnose {script.name} --diff failed: {done.stderr[-500:]}")
    said = [line for line in done.stderr.splitlines() if line.startswith("advisor:")]
    return done.stdout, "\n".join(said)


def scores(script: Path, seeds: int) -> tuple[list[float], list[float], str]:
    """Test loss and first metric of the script's own model, one per seed."""
    losses, metrics, name = [], [], "-"
    for offset in range(seeds):
        model, x, y = run_as_user(script, seed_offset=offset)
        per_sample, name, value = score(model, x, y)
        losses.append(float(np.mean(per_sample)))
        metrics.append(value)
    return losses, metrics, name


def _summary(values: list[float]) -> str:
    return f"{np.mean(values):.4g} ± {np.std(values):.2g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("scripts", nargs="*", default=list(DEFAULT_SCRIPTS))
    args = parser.parse_args()
    print("| script | patch | your test loss | patched test loss | metric: yours -> patched |")
    print("|---|---|---|---|---|")
    for name in args.scripts:
        script = SCRIPTS / name
        diff, said = patch_of(script)
        if not diff:
            print(f"| `{name}` | none: {said.replace('|', '/')} | | | |")
            continue
        with tempfile.TemporaryDirectory() as folder:
            copy = Path(folder)
            for part in (name, "fixture_data.py"):
                shutil.copy(SCRIPTS / part, copy / part)
            (copy / "fix.patch").write_text(diff)
            subprocess.run(["git", "apply", "fix.patch"], cwd=copy, check=True)
            yours, your_metric, metric = scores(script, args.seeds)
            patched, patched_metric, _ = scores(copy / name, args.seeds)
        changed = sum(1 for line in diff.splitlines() if line[:1] in "+-") - 2
        print(
            f"| `{name}` | {changed} lines | {_summary(yours)} | {_summary(patched)} | "
            f"{metric} {_summary(your_metric)} -> {_summary(patched_metric)} |",
            flush=True,
        )
        if said:
            print(said, file=sys.stderr)


if __name__ == "__main__":
    main()
