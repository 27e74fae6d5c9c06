"""Per-rule precision and recall of the history rules on the recorded corpus of real Keras runs.

A rule *fires* on a run when it reports a warning or an error (what fails `advisor check`
under the default `--fail-on warning`). A firing counts as a true positive when the rule is in
the run's ``labels``, is ignored when it is in ``tolerated``, and is a false positive otherwise;
a label that does not fire is a false negative. The corpus is judged twice: without the class
count (as `advisor check FILE` runs) and with it (as `advisor check --classes K`).

Exits 1 when any precision or recall is below the goal. Run:
``.venv/bin/python benchmarks/rule_accuracy.py [--verbose]``
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from advisor.findings import Severity  # noqa: E402
from advisor.history import TrainingHistory, history_from_logs  # noqa: E402
from advisor.rule import Rule, RuleContext  # noqa: E402
from rules import (  # noqa: E402
    divergence,
    oscillation,
    overfitting,
    plateau,
    stalled,
    underfitting,
)

CORPUS = ROOT / "fixtures" / "histories" / "corpus"
GOAL = 0.95
HISTORY_RULES: tuple[Rule, ...] = tuple(
    module.RULE for module in (overfitting, plateau, oscillation, divergence, stalled, underfitting)
)


@dataclass
class Run:
    name: str
    labels: frozenset[str]
    tolerated: frozenset[str]
    history: TrainingHistory
    n_classes: int | None


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def load_corpus(directory: Path = CORPUS) -> Iterator[Run]:
    for path in sorted(directory.glob("*.json")):
        record = json.loads(path.read_text())
        yield Run(
            name=record["name"],
            labels=frozenset(record["labels"]),
            tolerated=frozenset(record["tolerated"]),
            history=history_from_logs(record["history"], source=path.name),
            n_classes=record["meta"].get("n_classes"),
        )


def fired(rule: Rule, run: Run, *, with_classes: bool) -> bool:
    context = RuleContext(n_classes=run.n_classes if with_classes else None)
    return any(f.severity.rank >= Severity.WARNING.rank for f in rule.check(run.history, context))


def score(runs: list[Run], *, with_classes: bool) -> dict[str, Tally]:
    tallies = {rule.id: Tally() for rule in HISTORY_RULES}
    for run in runs:
        for rule in HISTORY_RULES:
            tally = tallies[rule.id]
            hit = fired(rule, run, with_classes=with_classes)
            if rule.id in run.labels:
                tally.tp += hit
                tally.fn += not hit
                if not hit:
                    tally.misses.append(f"missed {run.name}")
            elif hit and rule.id not in run.tolerated:
                tally.fp += 1
                tally.misses.append(f"false alarm on {run.name}")
    return tallies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="name every miss")
    args = parser.parse_args(argv)
    runs = list(load_corpus())
    labels = sorted({label for run in runs for label in run.labels})
    print(
        f"{len(runs)} runs: "
        + ", ".join(f"{label} {sum(label in run.labels for run in runs)}" for label in labels)
        + f", healthy {sum(not run.labels for run in runs)}"
    )
    failed = False
    for with_classes in (False, True):
        tallies = score(runs, with_classes=with_classes)
        title = "with --classes" if with_classes else "without --classes"
        header = f"{'TP':>3} {'FP':>3} {'FN':>3} {'precision':>10} {'recall':>7}"
        print(f"\n{title:<20} {'code':<7} {header}")
        for rule in HISTORY_RULES:
            t = tallies[rule.id]
            ok = t.precision >= GOAL and t.recall >= GOAL
            failed |= not ok
            print(
                f"{rule.id:<20} {rule.code:<7} {t.tp:>3} {t.fp:>3} {t.fn:>3} "
                f"{t.precision:>10.3f} {t.recall:>7.3f}  {'ok' if ok else 'BELOW GOAL'}"
            )
            if args.verbose or not ok:
                for line in t.misses:
                    print(f"    {line}")
    print(f"\ngoal: precision and recall >= {GOAL} for every rule: {'missed' if failed else 'met'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
