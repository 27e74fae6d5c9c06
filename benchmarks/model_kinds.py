"""Every model and input kind through ``advisor diagnose --export``: is the exported model at
least as good as the script's own on its test split, over several seeds, and at what time cost?

For each fixture kind (CNN on raw and 0..16 pixels, LSTM, Conv1D, Embedding on token ids, two
named inputs and heads, a 15-row table, tf.data with augmentation, an unbuilt subclassed model
on raw data) and each seed: run the script as the user would (its seeds shifted by the seed),
run ``advisor diagnose --seed S --export`` on it, load the export with plain Keras and score
both on the script's test split, which the advisor never sees (task loss without penalty, and
the first compiled metric). Prints per kind the mean ± spread over seeds and the wall time of
the whole diagnose over the plain script's. Exits 1 when an export does not load or take the
script's inputs, or when an adopted fix is worse on test on average.

Run: ``.venv/bin/python benchmarks/model_kinds.py [--seeds 3] [--only cnn,lstm]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
from _script_runs import SCRIPTS, run_as_user, score, time_advisor, time_plain

# kind -> (script, its own arguments)
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "cnn-255": ("cnn_raw_pixels.py", ()),
    "cnn-16": ("cnn_raw_pixels.py", ("--pixel-max", "16")),
    "lstm": ("lstm_sequences.py", ()),
    "conv1d": ("conv1d_sequences.py", ()),
    "embedding": ("embedding_tokens.py", ()),
    "two-in-two-out": ("two_inputs_two_outputs.py", ()),
    "15-rows": ("tiny_table.py", ()),
    "tfdata-augment": ("tfdata_augmented.py", ()),
    "subclassed-raw": ("subclassed_model.py", ("--raw",)),
}


def _spread(values: list[float]) -> str:
    return f"{np.mean(values):.4g} ± {np.std(values):.2g}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--only", default=",".join(KINDS), help="comma-separated kinds")
    options = parser.parse_args()
    print(
        f"{'kind':15} {'user loss':>15} {'exported loss':>15} {'metric':>14} {'user':>15} "
        f"{'exported':>15} {'adopted':>16} {'time x':>6}"
    )
    missed: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        for kind in options.only.split(","):
            name, argv = KINDS[kind]
            script = SCRIPTS / name
            rows: dict[str, list[float]] = {key: [] for key in ("lb", "la", "mb", "ma", "t")}
            adopted: list[str] = []
            metric = "-"
            for seed in range(options.seeds):
                user_model, x_test, y_test = run_as_user(script, argv, seed_offset=seed)
                exported = Path(folder) / f"{kind}-{seed}.keras"
                wall, report = time_advisor(
                    script, "--seed", str(seed), "--export", str(exported), argv=argv
                )
                try:
                    fixed_model = keras.saving.load_model(exported)
                    per_after, _, metric_after = score(fixed_model, x_test, y_test)
                except Exception as error:  # the goal is that this never happens
                    missed.append(f"{kind} (export unusable: {type(error).__name__})")
                    break
                per_before, metric, metric_before = score(user_model, x_test, y_test)
                rows["lb"].append(float(np.mean(per_before)))
                rows["la"].append(float(np.mean(per_after)))
                rows["mb"].append(metric_before)
                rows["ma"].append(metric_after)
                rows["t"].append(wall / time_plain(script, argv))
                adopted.append(report["verdict"]["adopted"])
            if not rows["t"]:
                continue
            shown = ",".join(sorted(set(adopted)))
            print(
                f"{kind:15} {_spread(rows['lb']):>15} {_spread(rows['la']):>15} {metric:>14} "
                f"{_spread(rows['mb']):>15} {_spread(rows['ma']):>15} {shown:>16} "
                f"{np.mean(rows['t']):6.2f}",
                flush=True,
            )
            if "fixed" in adopted and np.mean(rows["la"]) > np.mean(rows["lb"]):
                missed.append(f"{kind} (adopted fix worse on test on average)")
    print(f"goals missed: {', '.join(missed) or 'none'}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
