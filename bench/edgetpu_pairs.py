"""The static Edge TPU check against real edgetpu_compiler 16 output (python bench/edgetpu_pairs.py [DIR]).

DIR (default: shared/edgetpu-pairs beside the checkout) holds <name>.tflite with the
<name>_edgetpu.tflite the compiler made from it. The compiler keeps every op it leaves on the CPU
as an ordinary op with its output tensors' names, and replaces the rest by edgetpu-custom-op, so
each source op's truth is found by name: it runs on the CPU when an op of the same kind in the
compiled file writes its output tensor(s), else on the Edge TPU. The script checks that every CPU
op of each compiled file matches exactly one source op that way before using it.

Prints, per pair, ours vs the compiler (mapped ops, CPU op kinds, partitions) and the static
check's wall time (first call, then the median of repeated calls); then, per op kind and in
total, precision and recall of "maps to the Edge TPU" (positive = mapped), ops matched by
position. No TensorFlow is imported.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgegate.targets.edgetpu.compiled import is_partition  # noqa: E402
from edgegate.targets.flatbuffer import TfliteModel, read_tflite  # noqa: E402
from edgegate.targets.edgetpu.static import StaticAnalyzer  # noqa: E402

RUNS = 20


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    uncertain: int = 0

    def add(self, predicted: bool, truth: bool, uncertain: bool) -> None:
        if predicted and truth:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif truth:
            self.fn += 1
        else:
            self.tn += 1
        self.uncertain += uncertain

    @property
    def ops(self) -> int:
        return self.tp + self.fp + self.fn + self.tn


@dataclass
class Pair:
    name: str
    truth: list[bool]  # per source op: runs on the Edge TPU
    cpu_kinds: Counter = field(default_factory=Counter)
    partitions: int = 0


def _ratio(num: int, den: int) -> str:
    return f"{num / den:.3f}" if den else "—"


def truth_by_name(source: TfliteModel, compiled: TfliteModel, name: str) -> Pair:
    """Which source ops the compiler mapped, from the CPU ops' output tensor names (checked, not assumed)."""
    writers: dict[str, list[int]] = {}
    for op in source.operators:
        for t in op.outputs:
            writers.setdefault(source.tensors[t].name, []).append(op.index)
    on_cpu: set[int] = set()
    cpu = [op for op in compiled.operators if not is_partition(op)]
    for op in cpu:
        names = [compiled.tensors[t].name for t in op.outputs]
        found = {i for n in names for i in writers.get(n, ())}
        if len(found) != 1:
            raise SystemExit(
                f"{name}: compiled CPU op {op.op} writing {names} matches source ops {sorted(found)}"
            )
        (i,) = found
        theirs = [source.tensors[t].name for t in source.operators[i].outputs]
        if source.operators[i].op != op.op or theirs != names:
            raise SystemExit(
                f"{name}: compiled {op.op} {names} vs source #{i} {source.operators[i].op} {theirs}"
            )
        if i in on_cpu:
            raise SystemExit(f"{name}: two compiled CPU ops match source op #{i}")
        on_cpu.add(i)
    return Pair(
        name,
        [op.index not in on_cpu for op in source.operators],
        Counter(op.op for op in cpu),
        sum(is_partition(op) for op in compiled.operators),
    )


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "edgetpu-pairs"
    sources = sorted(
        p
        for p in folder.glob("*.tflite")
        if not p.stem.endswith("_edgetpu") and p.with_name(f"{p.stem}_edgetpu.tflite").is_file()
    )
    if not sources:
        raise SystemExit(f"no <name>.tflite + <name>_edgetpu.tflite pairs in {folder}")
    analyzer = StaticAnalyzer(compiler_version=16)
    by_kind: dict[str, Tally] = {}
    total = Tally()
    rows = []
    matched = 0
    for path in sources:
        pair = truth_by_name(
            read_tflite(path), read_tflite(path.with_name(f"{path.stem}_edgetpu.tflite")), path.stem
        )
        matched += sum(pair.cpu_kinds.values())
        start = time.perf_counter()
        r = analyzer.analyze(path)
        first = time.perf_counter() - start
        times = []
        for _ in range(RUNS):
            t = time.perf_counter()
            analyzer.analyze(path)
            times.append(time.perf_counter() - t)
        for o, truth in zip(r.ops, pair.truth):
            for tally in (by_kind.setdefault(o.op, Tally()), total):
                tally.add(o.mapped, truth, o.uncertain)
        ours_cpu = Counter(o.op for o in r.ops if not o.mapped)
        rows.append(
            (
                path.stem,
                f"{r.ops_on_tpu}/{sum(pair.truth)}",
                f"{sum(ours_cpu.values())}/{sum(pair.cpu_kinds.values())}",
                f"{r.partitions}/{pair.partitions}",
                "yes"
                if (r.ops_on_tpu, ours_cpu, r.partitions)
                == (sum(pair.truth), pair.cpu_kinds, pair.partitions)
                else "NO",
                str(r.uncertain),
                f"{first * 1000:.2f}",
                f"{statistics.median(times) * 1000:.2f}",
                ", ".join(f"{k} {n}" for k, n in sorted(pair.cpu_kinds.items())) or "—",
            )
        )
    assert "tensorflow" not in sys.modules, "the static check imported TensorFlow"
    print(
        f"{len(sources)} pairs in {folder}; {matched} compiled CPU ops, each matched to one source op by kind"
    )
    print("and output tensor names\n")
    head = (
        "pair",
        "mapped ours/cc",
        "CPU ours/cc",
        "parts",
        "same",
        "uncert",
        "1st ms",
        f"median ms ({RUNS})",
        "compiler's CPU ops",
    )
    _table(head, rows)
    print()
    kinds = sorted(by_kind, key=lambda k: (-by_kind[k].ops, k))
    stats = [
        (
            k,
            str(t.ops),
            str(t.tp + t.fn),
            str(t.tp + t.fp),
            str(t.uncertain),
            _ratio(t.tp, t.tp + t.fp),
            _ratio(t.tp, t.tp + t.fn),
        )
        for k, t in [(k, by_kind[k]) for k in kinds]
    ]
    t = total
    stats.append(
        (
            "TOTAL",
            str(t.ops),
            str(t.tp + t.fn),
            str(t.tp + t.fp),
            str(t.uncertain),
            _ratio(t.tp, t.tp + t.fp),
            _ratio(t.tp, t.tp + t.fn),
        )
    )
    _table(("op kind", "ops", "mapped (cc)", "mapped (ours)", "uncertain", "precision", "recall"), stats)
    print(
        f"\nTP {t.tp}  FP {t.fp}  FN {t.fn}  TN {t.tn}  (positive = maps to the Edge TPU; cc = edgetpu_compiler 16)"
    )


def _table(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    for r in [head, *rows]:
        print(
            "  ".join(
                c.ljust(w) if i == 0 or i == len(head) - 1 else c.rjust(w)
                for i, (c, w) in enumerate(zip(r, widths))
            )
        )


if __name__ == "__main__":
    main()
