"""Shared by the diagnose benchmarks: time a fixture script run plainly and through the advisor.

Not a benchmark itself (``run_all.py`` skips modules whose name starts with ``_``); imported
by ``diagnose_overhead.py`` and ``fix_benefit.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "fixtures" / "scripts"
ADVISOR = Path(sys.executable).parent / "advisor"
QUIET = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def time_plain(script: Path) -> float:
    """Wall time of ``python script.py``, process start and TensorFlow import included."""
    started = time.perf_counter()
    subprocess.run([sys.executable, str(script)], check=True, capture_output=True, env=QUIET)
    return time.perf_counter() - started


def time_advisor(script: Path, *options: str) -> tuple[float, dict[str, Any]]:
    """Wall time and JSON report of ``advisor diagnose --format json [options] script``."""
    command = [str(ADVISOR), "diagnose", "--format", "json", *options, str(script)]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=QUIET, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(command)} failed: {result.stderr.strip()[-500:]}")
    (report,) = json.loads(result.stdout)["reports"]
    return elapsed, report
