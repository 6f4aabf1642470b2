"""The mcu target against the real TFLite Micro interpreter (the ``tflite-micro`` package).

Every figure is checked against TFLM itself, in child processes this test starts with its own
few lines of code (a too-small arena can crash the process): the reported arena is accepted,
16 bytes (and 1 byte) less is refused.
"""

from __future__ import annotations

import importlib.resources
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest

from edgegate.errors import InputError
from edgegate.status import Level, Status
from edgegate.targets.interface import AS_IS, PolicyPlace
from edgegate.targets.mcu.target import McuReport, McuSettings, McuTarget, _Child
from edgegate.units import parse_change
from edgegate.targets.flatbuffer import read_tflite

ROOT = Path(__file__).resolve().parents[2]
WHERE = PolicyPlace("models[0].targets.mcu", 7)

# The test's own TFLM check, independent of mcu.py: exit 0 accepted, 3 refused, a signal crashed.
_ACCEPTS = """
import sys
from tflite_micro import runtime
try:
    runtime.Interpreter.from_file(sys.argv[1], arena_size=int(sys.argv[2]))
except Exception:
    sys.exit(3)
"""


def tflm_outcome(path: Path, arena: int) -> str:
    """``accepted``, ``refused`` (TFLM said no) or ``crashed`` (a signal): never one for another."""
    proc = subprocess.run(
        [sys.executable, "-c", _ACCEPTS, str(path), str(arena)], capture_output=True, timeout=300
    )
    outcomes = {0: "accepted", 3: "refused"}
    if proc.returncode < 0:
        return "crashed"
    assert proc.returncode in outcomes, proc.stderr.decode(errors="replace")[-2000:]
    return outcomes[proc.returncode]


_reports: dict[Path, McuReport] = {}


def analyze(path: Path) -> McuReport:
    if path not in _reports:
        _reports[path] = McuTarget().analyze(path)
    return _reports[path]


def sine_model() -> Path:
    """TFLM's hello_world model, shipped inside the tflite-micro wheel."""
    return Path(str(importlib.resources.files("tflite_micro.python.tflite_micro") / "sine_float.tflite"))


# dense_3d and batch_matmul need more arena than the recording allocator's final total (temporary
# allocations while preparing), and their bisection runs through sizes that crash TFLM.
# Below it, TFLM refuses conv_stack_int8 and sine cleanly, but crashes on the other two: what
# mcu.py's children survive, and why each attempt is its own process.
@pytest.mark.parametrize(
    "name, below",
    [
        ("conv_stack_int8", "refused"),
        ("dense_3d", "crashed"),
        ("batch_matmul", "crashed"),
        ("sine", "refused"),
    ],
)
def test_arena_is_the_smallest_tflm_accepts(models, name, below):
    path = sine_model() if name == "sine" else models(name)
    report = analyze(path)
    assert report.runs, report
    n = report.arena
    assert n is not None
    assert tflm_outcome(path, n) == "accepted"
    assert tflm_outcome(path, n - 16) == below
    assert tflm_outcome(path, n - 1) == below
    split = report.split
    assert split is not None and split.head + split.tail == split.total <= n
    assert any(
        p.name == "TfLiteEvalTensor data" and p.count == len(read_tflite(path).tensors) for p in split.parts
    )
    assert report.flash == path.stat().st_size
    assert report.ops == len(read_tflite(path).operators)
    assert report.tflm_version and report.pointer_bits in (32, 64)


def test_ops_tflm_lacks_are_all_listed_with_its_words(models):
    path = models("unsupported_ops")  # CONV_3D, RELU, ADD, GELU
    report = analyze(path)
    assert not report.runs and report.arena is None and report.split is None
    assert [(u.index, u.op) for u in report.unsupported] == [(0, "CONV_3D"), (3, "GELU")]
    assert "Didn't find op for builtin opcode 'CONV_3D'" in report.unsupported[0].message
    assert "Didn't find op for builtin opcode 'GELU'" in report.unsupported[1].message
    info = read_tflite(path)
    assert report.unsupported[1].output == info.tensors[info.operators[3].outputs[0]].name
    target = McuTarget(McuSettings(max_arena=1 << 20, max_flash=1 << 20))
    runs, arena, flash = target.checks(report, None, WHERE)
    assert runs.name == "mcu.runs" and runs.status is Status.FAIL
    assert "cannot run 2 of 4 ops" in runs.message and "#3 GELU" in runs.message
    assert arena.status is Status.SKIP and flash.status is Status.PASS
    assert "CONV_3D, GELU" in target.summary(report)


def test_hybrid_ops_are_refused_in_tflms_words(models):
    report = analyze(models("conv_stack_dynamic"))
    # Only the conv's weights (1152 elements) reach the converter's 1024-element threshold:
    # the depthwise and dense weights stay float, and TFLM runs those ops.
    assert [u.op for u in report.unsupported] == ["CONV_2D"]
    assert "Hybrid models are not supported on TFLite Micro" in report.unsupported[0].message
    assert McuTarget().never_applies("dynamic") is None  # small-weight models stay float and run


def test_float16_is_refused_as_never_applies_says(models):
    report = analyze(models("conv_stack_float16"))
    assert report.unsupported and {u.op for u in report.unsupported} == {"DEQUANTIZE"}
    reason = McuTarget().never_applies("float16")
    assert reason is not None and "DEQUANTIZE" in reason
    quoted = re.search(r"'(input->type[^']+)'", reason)  # the condition TFLM prints, quoted in the reason
    assert quoted is not None
    assert all(quoted.group(1) in u.message for u in report.unsupported)


@pytest.mark.parametrize("conversion", ["float32", "int8", "int16x8", AS_IS])
def test_other_conversions_are_analyzed(conversion):
    assert McuTarget().never_applies(conversion) is None


@pytest.mark.parametrize("mode", ["float32", "int16x8"])
def test_float32_and_int16x8_run(models, mode):
    report = analyze(models(f"conv_stack_{mode}"))  # conv, depthwise, relu, mean, dense
    int8 = analyze(models("conv_stack_int8"))
    assert report.runs and report.split is not None and int8.split is not None
    assert report.split.head > int8.split.head  # wider activations, more arena


@pytest.mark.parametrize(
    "name, op, words",
    [
        ("log_int8", "LOG", "input->type != expected_type (INT8 != FLOAT32)"),
        ("resize_bilinear_int16x8", "RESIZE_BILINEAR", "requires float or int8"),
    ],
)
def test_ops_refused_only_when_they_run(models, name, op, words):
    path = models(name)
    report = analyze(path)
    assert report.arena is not None and tflm_outcome(path, report.arena) == "accepted"  # allocation is fine
    assert not report.runs
    (refused,) = report.unsupported
    assert refused.op == op and words in refused.message and "refused when it runs" in refused.message
    info = read_tflite(path)
    assert info.operators[refused.index].op == op


# The test's own run of a whole model in TFLM, preparing then invoking it: prints the stage that
# refused it ("prepare", "invoke" or "runs") on its first line, TFLM's words after.
_RUNS = """
import sys
import numpy as np
from tflite_micro import runtime
try:
    interpreter = runtime.Interpreter.from_file(sys.argv[1], arena_size=1 << 20)
except Exception as e:
    print("prepare"); print(e); sys.exit(0)
for fill in (0, 1):
    try:
        d = interpreter.get_input_details(0)  # the test's models have one input
        interpreter.set_input(np.full(d["shape"], fill, d["dtype"]), 0)
        interpreter.invoke()
    except Exception as e:
        error = str(e)
    else:
        print("runs"); sys.exit(0)
print("invoke"); print(error)
"""


def tflm_stage(path: Path) -> tuple[str, str]:
    """What TFLM does with this model ("prepare", "invoke" or "runs": the stage that refuses it), and its words."""
    proc = subprocess.run(
        [sys.executable, "-c", _RUNS, str(path)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    # TFLM's own words are on stderr (MicroPrintf), after the generic lines every failure adds.
    generic = re.compile(r"^(Failed starting model allocation|Node \S+ \(number \d+\) failed to )")
    said = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip() and not generic.match(ln.strip())]
    return proc.stdout.split("\n", 1)[0], said[0] if said else ""


# Each part of the uint8 stack converted alone, and the op of the stack its first refusal names.
_U8_PART_OPS = {
    "conv": ("prepare", [0]),
    "depthwise": ("invoke", [1, 2]),
    "add": ("invoke", [3]),
    "logistic": ("invoke", [4]),
    "split": ("prepare", [7]),  # the part's CONCATENATION is refused when prepared, before SPLIT runs
    "pool": ("prepare", [8]),
}


def test_every_op_tflm_refuses_in_a_uint8_model_is_listed(models):
    """A uint8 MobileNet-like stack (TF1-style quantization-aware conversion): TFLM prepares its depthwise
    convs, ADD, LOGISTIC, requantize and SPLIT, then refuses them when they run; all are listed."""
    path = models("u8_mobilenet_like")
    info = read_tflite(path)
    report = analyze(path)
    assert not report.runs and report.arena is None  # the whole model is refused when prepared
    assert [(u.index, u.op) for u in report.unsupported] == [(op.index, op.op) for op in info.operators]
    assert [op.op for op in info.operators].count("DEPTHWISE_CONV_2D") == 2
    by_index = {u.index: u for u in report.unsupported}
    for part, (stage, indices) in _U8_PART_OPS.items():
        alone = models(f"u8_{part}")
        said = tflm_stage(alone)
        assert said[0] == stage, (part, said)
        first = read_tflite(alone).operators[0].op
        for i in indices:
            listed = by_index[i]
            assert said[1] and said[1] in listed.message, (part, said, listed)
            assert ("refused when it runs" in listed.message) == (stage == "invoke"), (part, listed)
            assert part == "split" or listed.op == first
    assert "Input type UINT8 (3) not supported." in by_index[1].message  # TFLM's words, as in the issue


def test_every_op_refused_when_it_runs_is_listed_not_only_the_first(models):
    path = models("floor_div_int32")
    report = analyze(path)
    assert report.arena is not None and tflm_stage(path)[0] == "invoke"
    assert [(u.index, u.op) for u in report.unsupported] == [(0, "FLOOR_DIV"), (2, "FLOOR_DIV")]
    assert all("Type 'INT32' is not supported by FLOOR_DIV." in u.message for u in report.unsupported)


def test_a_crashing_kernel_is_reported_not_fatal(models):
    report = analyze(models("tiny_logits_softmax"))
    (softmax,) = report.unsupported
    assert softmax.op == "SOFTMAX" and "crashed (SIGABRT)" in softmax.message
    assert "2^26" in softmax.message  # the hint for this abort, whose input scale is ~8e-9
    assert report.crashes >= 1


def test_child_survives_its_crashes(models, tmp_path):
    path = models("conv_stack_int8")
    n = analyze(path).arena
    child = _Child(path, tmp_path)
    try:
        assert not child.allocate(16).ok  # refused or crashed: either way the next attempt works
        again = child.allocate(n, inputs=1, record=True, invoke=True)
        assert again.ok and again.invoke_error is None and again.allocations
    finally:
        child.close()


def test_tflm_runs_only_in_children(models):
    """The parent never imports TFLite Micro or TensorFlow, neither at import nor during analyze."""
    code = (
        "import sys; from pathlib import Path; from edgegate.targets.mcu import target as mcu; from edgegate.targets.compute import target as compute; "
        "before = {m for m in ('tflite_micro', 'tensorflow') if m in sys.modules}; "
        f"r = mcu.McuTarget().analyze(Path({str(models('conv_stack_int8'))!r})); "
        "after = {m for m in ('tflite_micro', 'tensorflow') if m in sys.modules}; "
        "print(sorted(before), sorted(after), r.runs)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.stdout.split() == ["[]", "[]", "True"], out.stderr[-2000:]


def test_arena_and_flash_budgets(models):
    report = analyze(models("conv_stack_int8"))
    n, flash = report.arena, report.flash
    assert n is not None
    runs, arena, fl = McuTarget(McuSettings(max_arena=n, max_flash=flash)).checks(report, None, WHERE)
    assert runs.status is Status.PASS and f"{n:,} B" in runs.message
    assert (arena.name, arena.status, arena.key) == ("mcu.arena", Status.PASS, "models[0].targets.mcu.arena")
    assert (fl.name, fl.status) == ("mcu.flash", Status.PASS)
    _, arena, fl = McuTarget(McuSettings(max_arena=n - 1, max_flash=flash - 1)).checks(report, None, WHERE)
    assert arena.status is Status.FAIL and arena.message.endswith("budget by 1 B.")
    assert fl.status is Status.FAIL and arena.line == 7
    _, arena = McuTarget(McuSettings(Level.WARN, max_arena=n - 1)).checks(report, None, WHERE)
    assert arena.status is Status.WARN


def test_vs_base(models):
    head, base = analyze(models("conv_stack_int8")), analyze(models("dense_3d"))
    assert head.arena is not None and base.arena is not None and head.arena > base.arena
    growth = (head.arena - base.arena) / base.arena * 100

    def vs(arena: str, flash: str = "1000%") -> McuTarget:
        return McuTarget(
            McuSettings(
                max_arena_increase=parse_change(arena, "size"), max_flash_increase=parse_change(flash, "size")
            )
        )

    _, arena, flash = vs(f"{growth - 1:.0f}%").checks(head, base, WHERE)
    assert arena.name == "mcu.vs_base.arena" and arena.status is Status.FAIL and "grew" in arena.message
    assert flash.name == "mcu.vs_base.flash" and flash.status is Status.PASS
    _, arena, _ = vs(f"{growth + 1:.0f}%").checks(head, base, WHERE)
    assert arena.status is Status.PASS
    _, arena, _ = vs(f"{head.arena - base.arena} B").checks(head, base, WHERE)
    assert arena.status is Status.PASS  # exactly the allowed increase
    _, arena, _ = vs("0%").checks(base, head, WHERE)
    assert arena.status is Status.PASS and "shrank" in arena.message
    _, arena, flash = vs("5%").checks(head, None, WHERE)
    assert arena.status is Status.SKIP and flash.status is Status.SKIP
    refused = analyze(models("unsupported_ops"))
    _, arena, flash = vs("5%", "1000%").checks(head, refused, WHERE)
    assert arena.status is Status.SKIP and "base version" in arena.message
    assert flash.status is Status.PASS  # flash is known for any file


def test_skipped_and_failed():
    target = McuTarget(McuSettings(max_arena=1, max_arena_increase=parse_change("5%", "size")))
    assert [c.name for c in target.skipped("float16", WHERE)] == [
        "mcu.runs",
        "mcu.arena",
        "mcu.vs_base.arena",
    ]
    assert all(c.status is Status.SKIP for c in target.skipped("float16", WHERE))
    failed = target.failed("boom", WHERE)
    assert {c.status for c in failed} == {Status.FAIL} and all("boom" in c.message for c in failed)


def test_report_is_a_picklable_value(models):
    report = analyze(models("conv_stack_int8"))
    assert pickle.loads(pickle.dumps(report)) == report


@pytest.mark.parametrize("content", [b"", b"garbage, not a model", b"1234TFL3" + b"\x01" * 100])
def test_garbage_is_an_input_error_naming_the_file(tmp_path, content):
    path = tmp_path / "from_the_pr.tflite"
    path.write_bytes(content)
    with pytest.raises(InputError, match="from_the_pr.tflite"):
        McuTarget().analyze(path)


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="nowhere.tflite"):
        McuTarget().analyze(tmp_path / "nowhere.tflite")


def test_settings_parse():
    s = McuSettings.parse(
        {"arena": "256 KiB", "flash": "1 MiB", "level": "warn", "vs_base": {"arena": "10%"}}
    )
    assert s == McuSettings(Level.WARN, 256 * 1024, 1 << 20, parse_change("10%", "size"), None)
    assert McuSettings.parse({}) == McuSettings()
    for bad, key in (
        ({"ram": 1}, "unknown"),
        ({"arena": "256 apples"}, "mcu.arena"),
        ({"vs_base": {"arena": "x"}}, "mcu.vs_base.arena"),
        ({"vs_base": {"ram": "5%"}}, "mcu.vs_base"),
        ({"level": "loud"}, "mcu.level"),
    ):
        with pytest.raises(ValueError, match=key):
            McuSettings.parse(bad)


def test_damaged_files_give_an_input_error_or_a_report(models, tmp_path):
    """Bytes flipped at random: never a traceback, never a dead parent (a fixed seed, 20 files)."""
    from edgegate.targets.compute.target import ComputeReport, ComputeTarget

    import random

    source = models("conv_stack_int8").read_bytes()
    rng = random.Random(7)
    outcomes = set()
    for i in range(20):
        data = bytearray(source)
        for _ in range(rng.choice([1, 4, 16])):
            data[rng.randrange(8, len(data))] = rng.randrange(256)
        path = tmp_path / f"damaged_{i}.tflite"
        path.write_bytes(bytes(data))
        try:
            report = McuTarget().analyze(path)
        except InputError as e:
            assert path.name in str(e)
            outcomes.add("input error")
            with pytest.raises(InputError):  # the same reader: the same verdict
                ComputeTarget().analyze(path)
        else:
            assert isinstance(report, McuReport)
            outcomes.add("runs" if report.runs else "refused")
            assert isinstance(ComputeTarget().analyze(path), ComputeReport)
    assert "input error" in outcomes and outcomes - {"input error"}  # both kinds of damage occurred


def test_a_model_over_the_arena_cap_is_refused_as_such(models, monkeypatch):
    import edgegate.targets.mcu.target as mcu

    monkeypatch.setattr(mcu, "ARENA_CAP", 4096)  # conv_stack_int8 needs 6,912 bytes
    report = McuTarget().analyze(models("conv_stack_int8"))
    assert report.arena is None and not report.unsupported
    assert report.refusal is not None and report.refusal.startswith(
        "TFLite Micro needs more than a 4 KiB arena"
    )
    assert "missing:" in report.refusal  # TFLM's own figure


def _overflowing(models, tmp_path) -> Path:
    """A RELU whose tensors claim shape [2^31-1, 2^31-1, 4]: TFLM's 32-bit size arithmetic overflows."""
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(models("relu_float32"))
    for t in model.subgraphs[0].tensors:
        t.shape = [2**31 - 1, 2**31 - 1, 4]
        t.shapeSignature = None
    path = tmp_path / "huge_input.tflite"
    flatbuffer_utils.write_model(model, str(path))
    return path


def test_a_tensor_no_arena_can_hold_gets_no_arena_figure(models, tmp_path):
    report = McuTarget().analyze(_overflowing(models, tmp_path))
    assert report.arena is None and report.split is None and not report.runs
    assert report.refusal is not None and "[2147483647, 2147483647, 4]" in report.refusal
    assert "TFLite Micro cannot hold it" in report.refusal
    runs, arena = McuTarget(McuSettings(max_arena=1 << 20)).checks(report, None, WHERE)
    assert runs.status is Status.FAIL and arena.status is Status.SKIP


def test_an_arena_smaller_than_a_tensor_is_not_believed(models, tmp_path, monkeypatch):
    import edgegate.targets.mcu.target as mcu

    # Past the first check, TFLM measures it (raising=False: without the guard the test still runs).
    monkeypatch.setattr(mcu, "_beyond_any_arena", lambda model: None, raising=False)
    report = McuTarget().analyze(_overflowing(models, tmp_path))
    assert report.arena is None and report.refusal is not None
    assert "overflowed, so no arena figure is given" in report.refusal
    accepted = int(re.search(r"accepted a ([\d,]+)-byte arena", report.refusal).group(1).replace(",", ""))
    assert accepted < 4096  # TFLM's own (false) figure, quoted, not reported as the arena
