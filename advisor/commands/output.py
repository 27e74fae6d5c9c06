"""Where a command's report goes: standard output, or ``--output-file`` (as ruff writes it).

The report is composed in memory and delivered once at the end, so a run that fails part-way
still writes one whole document (carrying the error) and never half of one. The buffer
answers ``isatty`` as the real standard output does, so the terminal format still colours a
terminal and writes plain text to a pipe. ``--output-file`` is checked before any work and
never replaces an existing file: the user's files are not the advisor's to overwrite.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Sequence
from pathlib import Path

from advisor.errors import AdvisorError


class ReportBuffer(io.StringIO):
    """The report being written, seen by formats as a terminal when it is bound for one."""

    def __init__(self, *, terminal: bool) -> None:
        super().__init__()
        self._terminal = terminal

    def isatty(self) -> bool:
        return self._terminal


def report_buffer(output_file: Path | None) -> ReportBuffer:
    return ReportBuffer(terminal=output_file is None and sys.stdout.isatty())


def check_output_file(path: Path, *, inputs: Sequence[Path]) -> None:
    """Refuse, before any work, a target that exists (an input above all) or has no folder."""
    if path.exists() or any(path.resolve() == given.resolve() for given in inputs):
        raise AdvisorError(f"{path}: already exists; --output-file never overwrites a file")
    if not path.parent.is_dir():
        raise AdvisorError(f"{path}: folder {path.parent} does not exist")


def deliver(buffer: ReportBuffer, output_file: Path | None) -> None:
    """Write the whole report to standard output or create ``output_file`` with it."""
    text = buffer.getvalue()
    if output_file is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        with output_file.open("x", encoding="utf-8") as file:
            file.write(text)
    except FileExistsError:
        raise AdvisorError(f"{output_file}: appeared during the run; not overwritten") from None
    except OSError as error:
        raise AdvisorError(f"{output_file}: cannot write ({error.strerror})") from None
