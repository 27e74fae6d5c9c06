"""Time and size of the ``fit-advisor-check`` pre-commit hook's first run from a clean cache.

The check hook is meant to install like ruff's: seconds, not the 2.3 GB TensorFlow
environment it once built. This makes a throwaway git repository holding one committed
history and a ``.pre-commit-config.yaml`` whose ``repo:`` is this checkout at its ``HEAD``
commit (so commit what you want measured), points a fresh ``PRE_COMMIT_HOME`` at a temporary
folder and runs ``pre-commit run --all-files`` there: pre-commit clones this repository,
creates the hook's virtualenv and pip-installs it from the package index, as a user's first
run does (``pre-commit try-repo`` would build in a store of its own, out of reach). It then
reports the wall time, the CPU time (what the wall time would be on an idle machine, less the
downloads), the size of the cache, whether TensorFlow was installed into it, and
the hook's exit code (1: the demo history overfits).

Exits 1 when the run is over the goals (90 s, 400 MB), installed TensorFlow, or the hook did
not run. Needs network access to the package index. Run:
``.venv/bin/python benchmarks/hook_env.py``
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HISTORY = ROOT / "fixtures" / "histories" / "demo_overfitting.json"
HOOK = "fit-advisor-check"
GOAL_SECONDS = 90.0
GOAL_MEGABYTES = 400.0


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def _megabytes(folder: Path) -> float:
    files = (p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    return sum(p.stat().st_size for p in files) / 1e6


def _load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="fit-advisor-hook-") as tmp:
        repo, cache = Path(tmp) / "user-repo", Path(tmp) / "pre-commit-home"
        (repo / "histories").mkdir(parents=True)
        shutil.copy(HISTORY, repo / "histories" / HISTORY.name)
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        (repo / ".pre-commit-config.yaml").write_text(
            f"repos:\n  - repo: {ROOT}\n    rev: {head}\n    hooks:\n      - id: {HOOK}\n"
        )
        _git(repo, "init", "-q")
        _git(repo, "add", ".")
        # pip's download cache too, so nothing is reused from an earlier install.
        env = {**os.environ, "PRE_COMMIT_HOME": str(cache), "PIP_CACHE_DIR": f"{tmp}/pip-cache"}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        run = subprocess.run(
            [sys.executable, "-m", "pre_commit", "run", "--all-files"],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        size = _megabytes(cache)
        with_tensorflow = any(cache.rglob("site-packages/tensorflow"))
    ran = run.returncode in (0, 1) and "fit-advisor check" in run.stdout
    print(f"first run of {HOOK}, clean cache: {seconds:.1f} s (goal < {GOAL_SECONDS:.0f} s)")
    # On a loaded machine the wall time is mostly waiting for a core; the CPU time is not.
    print(f"CPU time of pre-commit and its children: {cpu:.1f} s; load average {_load()}")
    print(f"hook environment (whole cache): {size:.0f} MB (goal < {GOAL_MEGABYTES:.0f} MB)")
    print(f"TensorFlow installed: {'yes' if with_tensorflow else 'no'}")
    print(f"hook exit code: {run.returncode} (1 means it reported the demo's overfitting)")
    if not ran:
        print(run.stdout[-2000:], run.stderr[-2000:], sep="\n", file=sys.stderr)
    within = seconds < GOAL_SECONDS and size < GOAL_MEGABYTES and not with_tensorflow
    return 0 if ran and within else 1


if __name__ == "__main__":
    sys.exit(main())
