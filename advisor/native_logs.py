"""Keep TensorFlow's native start-up log lines out of a normal ``advisor diagnose`` run.

Importing TensorFlow writes absl/oneDNN/CUDA lines straight to file descriptor 2 from C++,
before ``TF_CPP_MIN_LOG_LEVEL`` is read (``WARNING: All log messages before
absl::InitializeLog() is called are written to STDERR``), so no Python setting can silence them.
:func:`import_tensorflow_quietly` points descriptor 2 at a temporary file for the import only,
then writes back every line that is not such a log line: anything else that was printed still
reaches stderr. ``TF_CPP_MIN_LOG_LEVEL=3`` (unless the user set it) quiets the C++ logging
that comes after the import. ``--verbose`` skips both.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile

# absl/glog lines ("I0000 00:00:1795697827.624580   18911 port.cc:153] ...") and absl's notice.
NATIVE_LOG_LINE = re.compile(
    r"^([IWEF]\d{4} \d\d:\d\d:[\d.]+ +\d+ [\w.\-]+:\d+\] |"
    r"WARNING: All log messages before absl::InitializeLog\(\) is called)"
)


def import_tensorflow_quietly() -> None:
    """Import Keras (and so TensorFlow) with its native log lines filtered out of stderr."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "keras" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras  # noqa: F401
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [
                line
                for line in captured.read().decode("utf-8", "replace").splitlines(keepends=True)
                if not NATIVE_LOG_LINE.match(line)
            ]
    sys.stderr.write("".join(kept))
