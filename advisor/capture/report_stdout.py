"""Standard output for the report alone, whatever the user's script writes.

A script can write beneath ``sys.stdout``, to file descriptor 1 itself (``os.write(1, ...)``,
a C library, a subprocess it starts), and that would break ``--format json``. While a diagnosis
runs, descriptor 1 points at stderr, where the script's prints already go, and ``sys.stdout``,
which the report is printed to, writes to a private copy of the original descriptor 1.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

STDOUT_FD, STDERR_FD = 1, 2


@contextmanager
def report_only_stdout() -> Iterator[None]:
    """Descriptor 1 goes to stderr inside the block; ``sys.stdout`` keeps the original."""
    stdout = sys.stdout
    try:
        stdout.flush()
        private_fd = os.dup(STDOUT_FD)
    except (OSError, ValueError):  # no descriptor 1 (closed): nothing to protect
        yield
        return
    try:
        os.dup2(STDERR_FD, STDOUT_FD)
    except OSError:  # no descriptor 2 to send the script's writes to
        os.close(private_fd)
        yield
        return
    private = _private_copy(stdout, private_fd)
    if private is not None:
        sys.stdout = private
    try:
        yield
    finally:
        if private is not None:
            private.flush()
            sys.stdout = stdout
            private.close()
        os.dup2(private_fd, STDOUT_FD)
        os.close(private_fd)


def _private_copy(stdout: object, private_fd: int) -> io.TextIOWrapper | None:
    """A text stream like ``stdout`` on ``private_fd`` when ``stdout`` writes to descriptor 1;
    None when it writes elsewhere (a test's capture, a notebook), which needs no copy."""
    try:
        writes_to_fd1 = stdout.fileno() == STDOUT_FD  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return None
    if not writes_to_fd1:
        return None
    line_buffered = bool(getattr(stdout, "line_buffering", False))
    return open(
        private_fd,
        "w",
        buffering=1 if line_buffered else -1,
        encoding=getattr(stdout, "encoding", None) or "utf-8",
        errors=getattr(stdout, "errors", None) or "strict",
        closefd=False,
    )
