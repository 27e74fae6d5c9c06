"""``advisor diagnose --jobs N``: the search's trials in N processes on this machine.

The diagnosing process trains trials itself; N - 1 ``advisor worker`` processes join its study
(in ``--storage``, else an SQLite file in a temporary folder) as soon as it opens, and are
waited for before the report. Each worker runs the script up to its fit again, so a worker
costs a start-up (TensorFlow and the script's own) before its first trial: more processes pay
off when trials are long and cores are free.
"""

from __future__ import annotations

import subprocess
import sys

from rich.console import Console

from advisor.report.tables import print_problem
from advisor.search.worker import SharedSearch


class LocalWorkers:
    """Starts the workers when a study opens (the :class:`SharedSearch` announcement) and
    waits for them; ``seed`` + 1, + 2, ... seed their samplers, so that no two propose alike."""

    def __init__(self, jobs: int, *, seed: int, err: Console) -> None:
        self.jobs, self.seed, self.err = jobs, seed, err
        self.running: list[subprocess.Popen[bytes]] = []

    def announce(self, shared: SharedSearch) -> None:
        command = " ".join(shared.worker_command())
        print_problem(self.err, f"search study {shared.study_name} is open: {command}", kind="info")
        arguments = shared.worker_command()[1:]
        self.running += [
            subprocess.Popen(
                [sys.executable, "-m", "advisor", *arguments, "--seed", str(self.seed + number)],
                stdout=subprocess.DEVNULL,
            )
            for number in range(1, self.jobs)
        ]

    def wait(self) -> list[str]:
        """Wait for every worker started; one line for each that failed."""
        failed = []
        for worker in self.running:
            if worker.wait() != 0:
                failed.append(f"search worker {worker.pid} exited with {worker.returncode}")
        self.running = []
        return failed
