"""Per-rule precision and recall on recorded real Keras runs: where thresholds were fitted, and
on recordings no threshold was chosen on.

Two sets, both made by ``fixtures/record_corpus.py``: the *fitted* corpus
(``fixtures/histories/corpus/``), on which the rules' thresholds were chosen, and the *unseen*
set (``corpus/unseen/``): every construction recorded again with another seed, data split and
training-set size, never looked at while choosing thresholds. The gap between the two is what
the thresholds overfit the corpus.

Every rule of the catalogue is scored through :func:`advisor.engine.run_rules`, as
``advisor diagnose`` runs them (so precedence between rules is the engine's). A rule *fires* on
a run when it reports a warning or an error. A firing is a true positive when the rule is in
the run's ``labels``, is ignored when it is in ``tolerated``, and is a false positive
otherwise; a label that does not fire is a false negative. Probe rules see the recorded probe
statistics (a run recorded without them counts for no probe rule: those stay silent, and no
such run is labelled with a probe fault); a rule needing data the corpus does not hold (the
data rules) is left out. Each set is judged without the class count (as `advisor check FILE`
runs) and with it.

Exits 1 when any precision or recall, on either set, is below the goal. Run:
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

from advisor.engine import run_rules  # noqa: E402
from advisor.findings import Severity  # noqa: E402
from advisor.history import TrainingHistory, history_from_logs  # noqa: E402
from advisor.probe_stats import ProbeStats  # noqa: E402
from advisor.registry import load_catalogue  # noqa: E402
from advisor.rule import Rule, RuleContext  # noqa: E402

CORPUS = ROOT / "fixtures" / "histories" / "corpus"
SETS = {"fitted": CORPUS, "unseen": CORPUS / "unseen"}
GOAL = 0.95


@dataclass
class Run:
    name: str
    labels: frozenset[str]
    tolerated: frozenset[str]
    history: TrainingHistory
    n_classes: int | None
    probe: ProbeStats | None


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

    @property
    def ok(self) -> bool:
        return self.precision >= GOAL and self.recall >= GOAL

    def cells(self) -> str:
        """Counts, then precision and recall ("-" where nothing fired or nothing was labelled)."""
        precision = f"{self.precision:.3f}" if self.tp + self.fp else "-"
        recall = f"{self.recall:.3f}" if self.tp + self.fn else "-"
        return f"{self.tp:>3} {self.fp:>3} {self.fn:>3} {precision:>6} {recall:>6}"


def load_corpus(directory: Path) -> Iterator[Run]:
    for path in sorted(directory.glob("*.json")):
        record = json.loads(path.read_text())
        probe = record.get("probe")
        yield Run(
            name=record["name"],
            labels=frozenset(record["labels"]),
            tolerated=frozenset(record["tolerated"]),
            history=history_from_logs(record["history"], source=path.name),
            n_classes=record["meta"].get("n_classes"),
            probe=None if probe is None else ProbeStats.from_dict(probe),
        )


def judged_rules() -> tuple[Rule, ...]:
    """The catalogue's rules that can be judged from a recording (history and probe)."""
    return tuple(rule for rule in load_catalogue().rules if not rule.needs_data)


def score(runs: list[Run], rules: tuple[Rule, ...], *, with_classes: bool) -> dict[str, Tally]:
    tallies = {rule.id: Tally() for rule in rules}
    for run in runs:
        context = RuleContext(n_classes=run.n_classes if with_classes else None, probe=run.probe)
        findings = run_rules(run.history, context, rules=rules)
        fired = {f.rule for f in findings if f.severity.rank >= Severity.WARNING.rank}
        for rule in rules:
            tally = tallies[rule.id]
            hit = rule.id in fired
            if rule.id in run.labels:
                tally.tp += hit
                tally.fn += not hit
                if not hit:
                    tally.misses.append(f"missed {run.name}")
            elif hit and rule.id not in run.tolerated:
                tally.fp += 1
                tally.misses.append(f"false alarm on {run.name}")
    return tallies


def _census(runs: list[Run]) -> str:
    labels = sorted({label for run in runs for label in run.labels})
    counts = ", ".join(f"{label} {sum(label in run.labels for run in runs)}" for label in labels)
    probed = sum(run.probe is not None for run in runs)
    healthy = sum(not run.labels for run in runs)
    return f"{len(runs)} runs ({probed} with probe): {counts}, healthy {healthy}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="name every miss")
    args = parser.parse_args(argv)
    rules = judged_rules()
    runs = {name: list(load_corpus(directory)) for name, directory in SETS.items()}
    for name, recorded in runs.items():
        print(f"{name}: {_census(recorded)}")
    missing = [name for name, recorded in runs.items() if not recorded]
    if missing:
        print(f"no {' or '.join(missing)} recordings: run fixtures/record_corpus.py [--unseen]")
        return 1
    failed = False
    for with_classes in (False, True):
        tallies = {
            name: score(recorded, rules, with_classes=with_classes)
            for name, recorded in runs.items()
        }
        title = "with --classes" if with_classes else "without --classes"
        header = f"{'TP':>3} {'FP':>3} {'FN':>3} {'prec':>6} {'recall':>6}"
        print(f"\n{title:<20} {'code':<7} fitted: {header}   unseen: {header}")
        for rule in rules:
            fitted, unseen = tallies["fitted"][rule.id], tallies["unseen"][rule.id]
            ok = fitted.ok and unseen.ok
            failed |= not ok
            print(
                f"{rule.id:<20} {rule.code:<7}         {fitted.cells()}           "
                f"{unseen.cells()}  {'ok' if ok else 'BELOW GOAL'}"
            )
            if args.verbose or not ok:
                for set_name, tally in (("fitted", fitted), ("unseen", unseen)):
                    for line in tally.misses:
                        print(f"    {set_name}: {line}")
    print(
        f"\ngoal: precision and recall >= {GOAL} for every rule on both sets: "
        f"{'missed' if failed else 'met'}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
