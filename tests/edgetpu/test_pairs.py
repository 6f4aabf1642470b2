"""The static check against real ``edgetpu_compiler`` 16 output: the shared (source, compiled) pairs.

``shared/edgetpu-pairs/`` (beside the checkout; CI has it) holds models from google-coral's
test_data with the ``_edgetpu.tflite`` the compiler made from each. Ground truth, as its README
says: CPU ops = ops of the compiled model other than edgetpu-custom-op, mapped ops = source ops -
CPU ops, partitions = edgetpu-custom-op count. The compiler keeps each CPU op with its output
tensor's name, so the comparison is also made op by op.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from edgegate.targets.edgetpu.compiled import CompiledModelAnalyzer, is_partition
from edgegate.targets.flatbuffer import read_tflite
from edgegate.targets.edgetpu.static import StaticAnalyzer

PAIRS = Path(__file__).resolve().parents[2].parent / "shared" / "edgetpu-pairs"
ABSENT = (
    f"the compiled pairs are not here ({PAIRS} does not exist; CI checks out shared/ beside the repository)"
)


def _sources() -> list[Path]:
    if not PAIRS.is_dir():
        return []
    return sorted(
        p for p in PAIRS.glob("*.tflite") if not p.stem.endswith("_edgetpu") and _compiled(p).is_file()
    )


def _compiled(source: Path) -> Path:
    return source.with_name(f"{source.stem}_edgetpu.tflite")


def _params() -> list:
    if not PAIRS.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=ABSENT), id="no-pairs")]
    return [pytest.param(p, id=p.stem) for p in _sources()]


def test_the_pairs_folder_holds_pairs() -> None:
    if not PAIRS.is_dir():
        pytest.skip(ABSENT)
    assert _sources(), f"{PAIRS} has no <name>.tflite with a <name>_edgetpu.tflite beside it"


@pytest.mark.parametrize("source", _params())
def test_static_check_reproduces_the_compiler(source: Path) -> None:
    src, compiled = read_tflite(source), read_tflite(_compiled(source))
    cpu = [op for op in compiled.operators if not is_partition(op)]
    truth = (
        len(src.operators) - len(cpu),
        Counter(op.op for op in cpu),
        sum(is_partition(op) for op in compiled.operators),
    )
    r = StaticAnalyzer(compiler_version=16).analyze(source)
    assert r.compiles and r.ops_total == len(src.operators)
    ours = (r.ops_on_tpu, Counter(o.op for o in r.ops if not o.mapped), r.partitions)
    assert ours == truth
    # Op by op: the compiled file keeps each CPU op's kind and output tensor name.
    compiled_cpu = {(op.op, compiled.tensors[op.outputs[0]].name) for op in cpu}
    assert {(o.op, o.tensor) for o in r.ops if not o.mapped} == compiled_cpu


@pytest.mark.parametrize("source", _params())
def test_every_cpu_op_of_the_compiled_model_is_explained(source: Path) -> None:
    # Reading the compiled file alone, each CPU op gets a reason: its own rule, or a partition output it
    # depends on (reference §2), never "the static rules see no reason".
    r = CompiledModelAnalyzer().analyze(_compiled(source))
    assert all("see no reason" not in o.reason for o in r.ops), [o for o in r.ops if not o.mapped]
