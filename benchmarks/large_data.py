"""Peak memory of ``advisor diagnose`` on a streamed dataset, for two dataset sizes.

Writes ``.npy`` shards of float32 samples (4,095 features and a label per row, 16 KiB a row)
to a temporary folder, one folder per size, and diagnoses a script that streams them with
``tf.data.FixedLengthRecordDataset`` (no memory-mapping: a page read is not counted as the
process's own) into a tiny model. For each size it prints the peak resident memory (``ru_maxrss``
of that one child, from ``os.wait4``) of the user's own ``python script.py`` and of
``advisor diagnose``. The goal: the advisor's peak is bounded, independent of the dataset's size.

``--max-samples`` (default 2,000 rows, 31 MiB) is the advisor's sample budget for every size,
so that every size is streamed; the peak is bounded by that budget, not by the data.

The issue asks for a dataset about 3x the machine's free memory; on a shared machine that is
not polite, so the memory is capped instead: every run gets ``--memory-cap-gb`` (default 2) as
its data-segment limit (``RLIMIT_DATA``: heap and private mappings, so a run that tried to
hold the data would fail), and the largest default size is 3x that cap (``--sizes-gb``, default
0.5 and 6). The claim rests on every capped run finishing and the peak staying flat while the
data grows twelvefold. ``--materialised`` also diagnoses the smallest size, uncapped, with a
sample budget above its size, which reads it into memory whole (the path small data takes), to
show what streaming saves. Run: ``nice -n 5 .venv/bin/python benchmarks/large_data.py``
(flags: ``--sizes-gb 0.5 6``, ``--memory-cap-gb 2``, ``--materialised``).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

ADVISOR = Path(sys.executable).parent / "advisor"
FEATURES = 4_095
ROW_BYTES = 4 * (FEATURES + 1)
SHARD_ROWS = 4_096  # 64 MiB a shard
GIB = 1024**3
# The advisor's sample budget (rows read into memory) for every size: below the smallest
# size's training share, so every size is streamed (the default of 20,000 rows of 16 KiB would
# read a 0.5 GiB dataset whole).
MAX_SAMPLES = 2_000

SCRIPT = """
import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

FEATURES = {features}
folder = Path(os.environ["LARGE_DATA_DIR"])
shards = sorted(str(path) for path in folder.glob("*.npy"))
header = len(np.lib.format.magic(1, 0)) + 2 + {header_length}


def decode(record):
    row = tf.io.decode_raw(record, tf.float32)
    return row[:FEATURES], tf.cast(row[FEATURES], tf.int32)


dataset = (
    tf.data.FixedLengthRecordDataset(shards, record_bytes={row_bytes}, header_bytes=header)
    .map(decode)
    .batch(256)
    .prefetch(2)
)
model = keras.Sequential(
    [keras.Input((FEATURES,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(2)]
)
model.compile(
    optimizer="adam",
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
model.fit(dataset, epochs=2, verbose=0)
"""


def write_shards(folder: Path, size_bytes: int) -> int:
    """``.npy`` shards totalling about ``size_bytes``; returns the rows written."""
    rng = np.random.default_rng(0)
    rows = 0
    for number in range(max(1, round(size_bytes / (SHARD_ROWS * ROW_BYTES)))):
        shard = rng.normal(size=(SHARD_ROWS, FEATURES + 1)).astype("float32")
        shard[:, FEATURES] = shard[:, 0] > 0  # the label: learnable from the first feature
        np.save(folder / f"shard_{number:05d}.npy", shard)
        rows += SHARD_ROWS
    return rows


def header_length(folder: Path) -> int:
    """The header's length field of the first shard (v1 ``.npy`` files, all alike)."""
    with open(next(folder.glob("*.npy")), "rb") as file:
        np.lib.format.read_magic(file)
        start = file.tell()
        np.lib.format.read_array_header_1_0(file)
        return file.tell() - start - 2


def peak_rss(
    command: list[str], env: dict[str, str], cap_gb: float | None
) -> tuple[float, float, int]:
    """Peak resident memory (GiB), wall seconds and exit code of ``command`` alone, its data
    segment limited to ``cap_gb`` (None: uncapped)."""

    def limit_memory() -> None:
        if cap_gb is not None:
            cap = int(cap_gb * GIB)
            resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))

    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        preexec_fn=limit_memory,
    )
    # wait4 gives this child's own usage (RUSAGE_CHILDREN would mix all children so far).
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    process.communicate()
    return usage.ru_maxrss * 1024 / GIB, time.perf_counter() - started, process.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-gb", type=float, nargs="+", default=[0.5, 6.0])
    parser.add_argument("--memory-cap-gb", type=float, default=2.0)
    parser.add_argument("--materialised", action="store_true")
    parser.add_argument("--max-samples", type=int, default=MAX_SAMPLES)
    args = parser.parse_args()
    sizes = sorted(args.sizes_gb)
    print(f"every run but 'read whole' capped at {args.memory_cap_gb:.2f} GiB (RLIMIT_DATA)")
    print(f"{'data GiB':>8} {'rows':>8} {'run':24} {'peak RSS GiB':>12} {'wall s':>7} {'exit':>4}")
    codes = []
    peaks = []
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="large_data_") as temp:
            folder = Path(temp)
            rows = write_shards(folder, int(size * GIB))
            script = folder / "train.py"
            script.write_text(
                textwrap.dedent(SCRIPT).format(
                    features=FEATURES, row_bytes=ROW_BYTES, header_length=header_length(folder)
                )
            )
            env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "LARGE_DATA_DIR": temp}
            advisor = [str(ADVISOR), "diagnose", "--no-fix", "--max-samples"]
            runs = {
                "python script.py": [sys.executable, str(script)],
                "advisor diagnose --no-fix": [*advisor, str(args.max_samples), str(script)],
            }
            if args.materialised and size == sizes[0]:
                runs["advisor, read whole"] = [*advisor, str(rows + 1), str(script)]
            for name, command in runs.items():
                capped = None if name == "advisor, read whole" else args.memory_cap_gb
                peak, wall, code = peak_rss(command, env, capped)
                if name == "advisor diagnose --no-fix":
                    peaks.append(peak)
                    codes.append(code)
                print(f"{size:8.2f} {rows:8d} {name:24} {peak:12.2f} {wall:7.1f} {code:4d}")
    growth = peaks[-1] - peaks[0]
    print(
        f"the advisor's peak grew {growth:+.2f} GiB while the data grew "
        f"{sizes[-1] - sizes[0]:.2f} GiB (goal: bounded, independent of the dataset's size)"
    )
    # diagnose exits 0 (clean) or 1 (findings): a crash under the cap would be 2 or a signal.
    finished = all(code in (0, 1) for code in codes)
    return 0 if finished and growth <= 0.25 * (sizes[-1] - sizes[0]) else 1


if __name__ == "__main__":
    sys.exit(main())
