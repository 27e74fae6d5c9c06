"""Does the diagnosis beat a plain hyper-parameter search at the same cost? (issue 14)

For each bundled faulty script: run it as the user would, over a few seeds (the user's own
seed spread on the script's test split); run ``advisor diagnose --export`` on it, whatever the
current advisor does, and score the exported model on that test split; then give KerasTuner's
``RandomSearch`` and ``Hyperband`` the advisor's own total epoch budget over the knobs a user
would search (learning rate x0.1..x10 on a log scale, dropout, L2, input normalisation, batch
norm, ReLU+He), retrain the best trial like an export (all the data the script gave, the
script's epochs, no validation; under ``validation_split`` the rows the script's own fit trains
on, as the advisor's export and its patched script do) and score it on the same test split.
The advisor never sees the test split; neither does the tuner (its objective is the script's
own validation loss, or the training loss when the script has no validation).

The budget: the advisor's total epochs as its JSON report states them (its leave-one-out runs
included), or, while the report states none, estimated from it (probe + baseline and
candidates x repeats x measured epochs + the export's fit); ``--budget-epochs N`` overrides.
Both sides train that many epochs in all: each tuner's trials (pruned or partial ones
included) stop once they have trained the total less the script's epochs, which its best
trial's retrain takes, as the advisor's export fit is part of its own total.
KerasTuner is a benchmark-only dependency (``pip install -e ".[bench]"``, which ``make bench``
does).
Run: ``.venv/bin/python benchmarks/vs_tuner.py [--seeds 3] [--tuners random,hyperband]
[--max-trials N] [--budget-epochs N] [--spread-only] [script ...]``
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import keras_tuner
import numpy as np
from _script_runs import SCRIPTS, UserRun, capture_user_run, score, time_advisor

from advisor.outcomes.scores import MIN_RELATIVE_LOSS_CHANGE

# The bundled script for each pattern of issue 14. Every one follows the convention this
# benchmark needs (tests/test_vs_tuner_scripts.py checks it): it seeds with
# keras.utils.set_random_seed, builds a keras.Sequential, calls model.fit once on arrays and
# ends with model.evaluate(x_test, y_test) on data it never trained on (the XOR's four rows
# are its own test: there is nothing else).
CASES = {
    "adam_lr_100.py": "Adam at learning_rate=100",
    "sgd_lr_too_small.py": "SGD too slow to move",
    "deep_sigmoid_sgd.py": "ten sigmoid layers, SGD",
    "overfit_digits.py": "overfitting, 150 rows",
    "heavy_dropout.py": "Dropout(0.85)",
    "narrow_hidden_layer.py": "2-unit hidden layer",
    "xor_four_rows.py": "4-row XOR, no validation",
    "diverging_lr.py": "diverging regression",
    "sigmoid_head_regression.py": "sigmoid head, y in 3..103",
    "softmax_one_unit_mae.py": "1-unit softmax + MAE",
}
TUNERS = ("random", "hyperband")


@dataclass(frozen=True)
class Scored:
    loss: float
    metric: float
    epochs: int
    note: str = ""


def sample_knobs(hp: keras_tuner.HyperParameters) -> dict[str, Any]:
    """The search space of issue 14, as a KerasTuner user would write it."""
    return {
        "lr_factor": hp.Float("lr_factor", 0.1, 10.0, sampling="log"),
        "set_dropout": hp.Boolean("set_dropout"),
        "dropout": hp.Float("dropout", 0.0, 0.5, step=0.1),
        "set_l2": hp.Boolean("set_l2"),
        "l2": hp.Float("l2", 1e-6, 1e-2, sampling="log"),
        "normalize": hp.Boolean("normalize"),
        "batch_norm": hp.Boolean("batch_norm"),
        "relu_he": hp.Boolean("relu_he"),
    }


def knobbed_model(user: UserRun, knobs: dict[str, Any]) -> keras.Model:
    """The user's Sequential model rebuilt fresh with ``knobs`` applied, compiled as the user
    compiled it (optimizer of the same kind and settings, learning rate scaled)."""
    model = user.model
    layers: list[keras.layers.Layer] = [keras.Input(shape=model.inputs[0].shape[1:])]
    if knobs["normalize"]:
        normalization = keras.layers.Normalization()
        normalization.adapt(np.asarray(user.fit_x, dtype="float32"))
        layers.append(normalization)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dropout) and knobs["set_dropout"]:
            continue
        config = layer.get_config()
        hidden = isinstance(layer, keras.layers.Dense) and layer is not dense[-1]
        if isinstance(layer, keras.layers.Dense) and knobs["set_l2"]:
            config["kernel_regularizer"] = keras.regularizers.L2(knobs["l2"])
        if hidden and knobs["relu_he"]:
            config["activation"], config["kernel_initializer"] = "relu", "he_normal"
        if not hidden:
            layers.append(type(layer).from_config(config))
            continue
        activation = config["activation"]
        if knobs["batch_norm"]:
            config["activation"] = "linear"
        layers.append(type(layer).from_config(config))
        if knobs["batch_norm"]:
            layers += [keras.layers.BatchNormalization(), keras.layers.Activation(activation)]
        if knobs["set_dropout"] and knobs["dropout"] > 0:
            layers.append(keras.layers.Dropout(knobs["dropout"]))
    tuned = keras.Sequential(layers)
    optimizer_config = model.optimizer.get_config()
    optimizer_config["learning_rate"] = optimizer_config["learning_rate"] * knobs["lr_factor"]
    compile_config = dict(model._compile_config.config)
    compile_config["optimizer"] = type(model.optimizer).from_config(optimizer_config)
    tuned.compile(**compile_config)
    return tuned


class EpochCounter(keras.callbacks.Callback):  # type: ignore[misc]
    """Counts the epochs of every trial and stops the fit that reaches ``budget``. KerasTuner
    deep-copies the callbacks of each trial; this one stays shared, so the count does too."""

    def __init__(self, budget: int) -> None:
        super().__init__()
        self.budget, self.spent = budget, 0

    def __deepcopy__(self, memo: dict[int, Any]) -> EpochCounter:
        return self

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self.spent += 1
        if self.spent >= self.budget:
            self.model.stop_training = True


class EpochBudget:
    """Mixed into a KerasTuner tuner: stop the search once its trials trained ``budget_epochs``
    epochs in total (the last trial is cut short at the budget)."""

    def __init__(self, *args: Any, budget_epochs: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.counter = EpochCounter(budget_epochs)

    def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs["callbacks"] = [*kwargs.get("callbacks", []), self.counter]
        return super().run_trial(trial, *args, **kwargs)  # type: ignore[misc]

    def on_trial_end(self, trial: Any) -> None:
        super().on_trial_end(trial)  # type: ignore[misc]
        if self.counter.spent >= self.counter.budget:
            self.oracle.max_trials = len(self.oracle.trials)  # type: ignore[attr-defined]


class BudgetedRandomSearch(EpochBudget, keras_tuner.RandomSearch):
    pass


class BudgetedHyperband(EpochBudget, keras_tuner.Hyperband):
    pass


def export_fit_data(user: UserRun) -> dict[str, Any]:
    """What the best trial's retrain trains on, as the advisor's export does: everything the
    script gave ``fit``, its validation data included; under ``validation_split`` the script's
    own split (the export, like the patched script, keeps it: its last rows validate)."""
    split = user.fit_kwargs.get("validation_split")
    if split:
        return {"x": user.fit_x, "y": user.fit_y, "validation_split": split}
    validation = user.fit_kwargs.get("validation_data")
    if validation is None:
        return {"x": user.fit_x, "y": user.fit_y}
    return {
        "x": np.concatenate([user.fit_x, validation[0]]),
        "y": np.concatenate([user.fit_y, validation[1]]),
    }


def tuned_result(
    user: UserRun, kind: str, budget: int, *, max_trials: int, seed: int, folder: str
) -> Scored:
    fit_kwargs = {k: v for k, v in user.fit_kwargs.items() if k not in ("verbose", "callbacks")}
    epochs = int(fit_kwargs.get("epochs", 1))
    validated = "validation_split" in fit_kwargs or "validation_data" in fit_kwargs
    common = {
        "objective": "val_loss" if validated else "loss",
        "seed": seed,
        "directory": folder,
        "project_name": kind,
        "overwrite": True,
        # Equal training: the best trial's retrain (the script's epochs) is paid from the
        # same total as the advisor's export fit is.
        "budget_epochs": max(1, budget - epochs),
    }

    def build(hp: keras_tuner.HyperParameters) -> keras.Model:
        return knobbed_model(user, sample_knobs(hp))

    tuner: BudgetedRandomSearch | BudgetedHyperband
    if kind == "random":
        tuner = BudgetedRandomSearch(build, max_trials=max_trials, **common)
    else:
        tuner = BudgetedHyperband(build, max_epochs=epochs, factor=3, **common)
    keras.utils.set_random_seed(seed)
    try:
        tuner.search(user.fit_x, user.fit_y, verbose=0, **fit_kwargs)
    except RuntimeError as error:  # KerasTuner gives up when every trial's objective is NaN
        spent = tuner.counter.spent
        return Scored(math.nan, math.nan, spent, f"tuner gave up: {str(error).strip()}")
    best = tuner.get_best_hyperparameters(1)[0]
    keras.utils.set_random_seed(seed)
    export = knobbed_model(user, sample_knobs(best))
    export.fit(
        **export_fit_data(user),
        epochs=epochs,
        batch_size=fit_kwargs.get("batch_size", 32),
        verbose=0,
    )
    per_sample, _, metric = score(export, user.x_test, user.y_test)
    trials = len(tuner.oracle.trials)
    spent = tuner.counter.spent + epochs
    return Scored(float(np.mean(per_sample)), metric, spent, f"{trials} trials + retrain")


def advisor_epochs(report: dict[str, Any]) -> tuple[int, str]:
    """Total epochs the advisor trained: as its report states it, or else estimated from it
    (probe, then baseline and each candidate for each repeat at the measured epochs, then the
    export's fit); the second value says which."""
    final = report.get("final_fit") or {}
    measured = int(final.get("measured_epochs", report["probe"]["epochs"]))
    repeats = int(report.get("verdict", {}).get("repeats", 1))
    search = report.get("search") or {}
    searched = search.get("epochs")
    if searched is not None:
        # The report states the search's epochs; the probe, the leave-one-out runs and the
        # export's fit come on top, and each repeat of the decision beyond the first (two fits
        # at the measured epochs).
        extra = 2 * max(0, repeats - 1) * measured + int(search.get("leave_one_out_epochs", 0))
        total = report["probe"]["epochs"] + int(searched) + extra + int(final.get("epochs", 0))
        return total, "stated"
    fits = (1 + len(report.get("candidates", []))) * repeats
    return report["probe"]["epochs"] + fits * measured + int(final.get("epochs", 0)), "est."


def advisor_result(script: Path, folder: str, user: UserRun) -> Scored:
    exported = Path(folder) / f"{script.stem}.keras"
    _, report = time_advisor(script, "--export", str(exported))
    per_sample, _, metric = score(keras.saving.load_model(exported), user.x_test, user.y_test)
    verdict = report.get("verdict", {})
    spent, how = advisor_epochs(report)
    adopted = "+".join(report.get("fixes_applied", [])) if verdict.get("adopted") == "fixed" else ""
    note = f"{verdict.get('result', '-')} {adopted or 'your plan'} (epochs {how})"
    return Scored(float(np.mean(per_sample)), metric, spent, note)


def spread(values: list[float]) -> str:
    finite = [v for v in values if math.isfinite(v)]
    if len(finite) < len(values):
        return f"{len(values) - len(finite)}/{len(values)} non-finite"
    return f"{np.mean(finite):.4g} [{min(finite):.4g}..{max(finite):.4g}]"


def against(advisor: float, tuner: float, band: float, *, both_perfect: bool = False) -> str:
    """The advisor's test loss against a tuner's, within the user's own seed spread ``band``
    and never closer than the advisor's own minimum effect (``MIN_RELATIVE_LOSS_CHANGE`` of
    the tuner's loss: a user whose runs all sit at chance, or all diverge, has no spread, and
    2 % is no effect a user would care about either way). A finite loss always beats a
    non-finite one. ``both_perfect``: both classify every test sample right (the 4-row XOR
    the user's plan already fits), where a loss of 1e-3 against 1e-5 is no effect either:
    a tie."""
    if both_perfect:
        return "tie"
    if not math.isfinite(tuner):
        return "better" if math.isfinite(advisor) else "tie"
    if not math.isfinite(advisor):
        return "worse"
    band = max(band, MIN_RELATIVE_LOSS_CHANGE * abs(tuner))
    if advisor < tuner - band:
        return "better"
    return "worse" if advisor > tuner + band else "tie"


def show(who: str, result: Scored, versus: str) -> None:
    print(
        f"{'':27} {'':26} {'':>8} {'':>32} {'':>28} {who:>10} {result.loss:9.4g} "
        f"{result.metric:8.4g} {result.epochs:6d}  {result.note}{versus}",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3, help="seeds of the user's own run")
    parser.add_argument("--tuners", default=",".join(TUNERS))
    parser.add_argument("--max-trials", type=int, default=100, help="RandomSearch's cap")
    parser.add_argument("--budget-epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--spread-only", action="store_true", help="only the user's own seed spread"
    )
    parser.add_argument("scripts", nargs="*", default=list(CASES))
    args = parser.parse_args()
    tuners = [kind for kind in args.tuners.split(",") if kind]
    print(
        f"{'script':27} {'pattern':26} {'metric':>8} {'user loss (mean [min..max])':>32} "
        f"{'user metric':>28} {'who':>10} {'loss':>9} {'metric':>8} {'epochs':>6}  note"
    )
    outcomes: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        for name in args.scripts:
            script = SCRIPTS / name
            runs = [capture_user_run(script, seed_offset=s) for s in range(args.seeds)]
            scores = [score(run.model, run.x_test, run.y_test) for run in runs]
            metric_name = scores[0][1]
            user_losses = [float(np.mean(s[0])) for s in scores]
            finite = [v for v in user_losses if math.isfinite(v)]
            band = max(finite) - min(finite) if finite else 0.0
            print(
                f"{name:27} {CASES.get(name, ''):26} {metric_name:>8} "
                f"{spread(user_losses):>32} "
                f"{spread([s[2] for s in scores]):>28}",
                flush=True,
            )
            if args.spread_only:
                continue
            advisor = advisor_result(script, folder, runs[0])
            show("advisor", advisor, "")
            budget = args.budget_epochs or advisor.epochs
            for kind in tuners:
                tuned = tuned_result(
                    runs[0],
                    kind,
                    budget,
                    max_trials=args.max_trials,
                    seed=args.seed,
                    folder=folder,
                )
                perfect = metric_name == "accuracy" and advisor.metric == tuned.metric == 1.0
                outcomes.append(against(advisor.loss, tuned.loss, band, both_perfect=perfect))
                show(kind, tuned, f"; advisor {outcomes[-1]}")
    if args.spread_only:
        return 0
    counts = {kind: outcomes.count(kind) for kind in ("better", "tie", "worse")}
    print(
        "advisor against the tuners on test loss, within the user's seed spread (at least "
        f"{MIN_RELATIVE_LOSS_CHANGE:.0%} of the tuner's loss): "
        + ", ".join(f"{kind} {count}" for kind, count in counts.items())
        + " (goal of issue 14: never worse, better on most)"
    )
    return 1 if counts["worse"] or counts["better"] * 2 <= len(outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
