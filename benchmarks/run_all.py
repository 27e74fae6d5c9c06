"""Run every benchmark script in this folder, one after another, and report which failed.

Performance targets live here rather than in timed unit tests, so that a loaded CI machine
cannot make the test suite flaky. Each script prints its own table and exits non-zero when it
misses its goal.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    failed = []
    for script in sorted(HERE.glob("*.py")):
        if script.name == Path(__file__).name or script.name.startswith("_"):
            continue
        print(f"\n=== {script.name} ===", flush=True)
        if subprocess.run([sys.executable, str(script)], check=False).returncode != 0:
            failed.append(script.name)
    print(f"\n{len(failed)} benchmark(s) missed their goal: {', '.join(failed) or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
