"""Keep TensorFlow's native log lines out of a normal ``advisor diagnose`` run, start to end.

TensorFlow writes absl/oneDNN/CUDA lines straight to file descriptor 2 from C++: at import,
before ``TF_CPP_MIN_LOG_LEVEL`` is read (``WARNING: All log messages before
absl::InitializeLog() is called are written to STDERR``), and later too, when the first
operation initialises the devices (``E0000 ... failed call to cuInit``), from whichever thread
gets there first. No Python setting silences all of them, and filtering only the import let
the late ones through. :func:`import_tensorflow_quietly` therefore points descriptor 2 at a
pipe for the rest of the process, before TensorFlow is imported; a thread copies everything
that is not such a log line to the real stderr as it arrives, so the script's own prints,
warnings and progress bars still reach it, in order. ``TF_CPP_MIN_LOG_LEVEL=3`` (unless the
user set it) quiets what TensorFlow's own logging would print. ``--verbose`` skips both.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import sys
import threading

# absl/glog lines ("I0000 00:00:1795697827.624580   18911 port.cc:153] ...") and absl's notice.
NATIVE_LOG_LINE = re.compile(
    r"^([IWEF]\d{4} \d\d:\d\d:[\d.]+ +\d+ [\w.\-]+:\d+\] |"
    r"WARNING: All log messages before absl::InitializeLog\(\) is called)"
)
# What a native line starts with: a fragment like this waits for the rest of its line.
_NATIVE_START = re.compile(r"^([IWEF]\d|WARNING: All log)")
_filter: _StderrFilter | None = None


def import_tensorflow_quietly() -> None:
    """Import Keras (and so TensorFlow) with native log lines filtered out of stderr for good."""
    global _filter
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if _filter is None:
        _filter = _StderrFilter()
        atexit.register(_filter.stop)
    import keras  # noqa: F401


class _StderrFilter:
    """Descriptor 2 becomes a pipe; a thread writes all but native log lines to the old fd 2."""

    def __init__(self) -> None:
        sys.stderr.flush()
        self._target = os.dup(2)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
        self._thread = threading.Thread(target=self._copy, args=(read_end,), daemon=True)
        self._thread.start()

    def _copy(self, read_end: int) -> None:
        held = ""
        with os.fdopen(read_end, "rb", buffering=0) as pipe:
            while chunk := pipe.read(65536):
                lines = (held + chunk.decode("utf-8", "replace")).splitlines(keepends=True)
                held = lines.pop() if lines and not lines[-1].endswith("\n") else ""
                if held and not _NATIVE_START.match(held):  # a progress bar's "\r 3/30 ..."
                    lines.append(held)
                    held = ""
                kept = "".join(line for line in lines if not NATIVE_LOG_LINE.match(line))
                self._write(kept)
        if not NATIVE_LOG_LINE.match(held):
            self._write(held)

    def _write(self, text: str) -> None:
        data = text.encode("utf-8")
        while data:
            data = data[os.write(self._target, data) :]

    def stop(self) -> None:
        """Give descriptor 2 back and wait until everything written before is copied."""
        with contextlib.suppress(ValueError):  # sys.stderr closed during shutdown
            sys.stderr.flush()
        os.dup2(self._target, 2)  # closes the pipe's write end, so the thread sees its end
        self._thread.join(timeout=2)  # a child process may still hold the pipe
