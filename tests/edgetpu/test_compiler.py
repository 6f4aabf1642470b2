"""The real-compiler path, against a stand-in ``edgetpu_compiler`` that prints recorded output.

The printed texts follow the compiler's own formats (shared/reference/edgetpu.md §4 and the
logs quoted in google-coral/edgetpu issues); the stand-in also writes a compiled model made
the way the compiler makes it (mapped ops replaced by one edgetpu-custom-op).
"""

from __future__ import annotations

import os
import time

import pytest

from edgegate.targets.edgetpu.compiler import CompilerAnalyzer, parse_stdout
from edgegate.targets.edgetpu.interface import AFTER_CUT, BAD_TYPE, MAPPED, UNSPECIFIED, UNSUPPORTED
from edgegate.errors import InputError

V16_HEADER = """Edge TPU Compiler version 16.0.384591198
Started a compilation timeout timer of 180 seconds.

Model compiled successfully in 12 ms.

Input model: {stem}.tflite
Input size: 2.27KiB
Output model: out/{stem}_edgetpu.tflite
Output size: 34.16KiB
On-chip memory used for caching model parameters: 1.50KiB
On-chip memory remaining for caching model parameters: 8.05MiB
Off-chip memory used for streaming uncached model parameters: 0.00B
Number of Edge TPU subgraphs: {subgraphs}
Total number of operations: {total}
Operation log: out/{stem}_edgetpu.log
"""
NOT_ALL = "\n".join(
    [
        "",
        "Model successfully compiled but not all operations are supported by the Edge TPU. A percentage of the "
        "model will instead run on the CPU, which is slower. If possible, consider updating your model to use "
        "only operations supported by the Edge TPU. For details, visit g.co/coral/model-reqs.",
        "Number of operations that will run on Edge TPU: {tpu}",
        "Number of operations that will run on CPU: {cpu}",
        "",
    ]
)
V16 = "Edge TPU Compiler version 16.0.384591198\n"
TIMER = "Started a compilation timeout timer of 180 seconds.\n"
V16_FOOTER = "Compilation child process completed within timeout period.\nCompilation succeeded! \n"


def _table(*rows):
    return "\nOperator                       Count      Status\n\n" + "".join(
        f"{op:<31}{n:<11}{status}\n" for op, n, status in rows
    )


def _success(stdout: str, compiled, log: str = "", code: int = 0) -> str:
    """Body of a stand-in that prints ``stdout``, writes ``compiled`` and the op log, and exits ``code``."""
    return f"""
text = {stdout!r}.replace("{{stem}}", stem)
os.makedirs(out, exist_ok=True)
shutil.copyfile({str(compiled)!r}, os.path.join(out, stem + "_edgetpu.tflite"))
with open(os.path.join(out, stem + "_edgetpu.log"), "w") as f:
    f.write({log!r})
sys.stdout.write(text)
sys.exit({code})
"""


def _prints(stdout: str, code: int) -> str:
    return f"sys.stdout.write({stdout!r})\nsys.exit({code})\n"


LEAKY_ROWS = (("CONV_2D", 2, AFTER_CUT), ("LEAKY_RELU", 1, UNSUPPORTED), ("CONV_2D", 1, MAPPED))


def test_partly_mapped_v16_output_and_compiled_model(model, fake_compiler):
    stdout = (
        V16_HEADER.format(stem="{stem}", subgraphs=1, total=4)
        + NOT_ALL.format(tpu=1, cpu=3)
        + _table(*LEAKY_ROWS)
        + V16_FOOTER
    )
    binary = fake_compiler(_success(stdout, model("leaky_relu_middle_edgetpu")))
    r = CompilerAnalyzer(binary, runtime=13).analyze(model("leaky_relu_middle"))
    argv = (binary.parent / "argv.txt").read_text().split()
    assert argv[:2] == ["-s", "-o"] and argv[3:] == ["-m", "13", "leaky_relu_middle.tflite"]
    assert r.analyzer == "compiler" and r.compiler_version == "16.0.384591198" and r.runtime_version == 13
    assert r.compiles and (r.ops_total, r.ops_on_tpu, r.ops_on_cpu, r.partitions) == (4, 1, 3, 1)
    assert [(o.op, o.status) for o in r.ops] == [
        ("CONV_2D", MAPPED),
        ("LEAKY_RELU", UNSUPPORTED),
        ("CONV_2D", AFTER_CUT),
        ("CONV_2D", AFTER_CUT),
    ]
    assert r.first_unmapped.op == "LEAKY_RELU" and "LEAKY_RELU has no Edge TPU kernel" in r.hint
    assert "LEAKY_RELU                     1          Operation not supported" in r.log
    assert r.notes == ()


def test_all_mapped_output_has_no_cpu_counts(model, fake_compiler):
    # Reference §4: when every op maps, the "Number of operations that will run on ..." lines are absent.
    stdout = (
        V16_HEADER.format(stem="{stem}", subgraphs=1, total=4)
        + _table(("CONV_2D", 2, MAPPED), ("DEPTHWISE_CONV_2D", 1, MAPPED), ("AVERAGE_POOL_2D", 1, MAPPED))
        + V16_FOOTER
    )
    binary = fake_compiler(_success(stdout, model("conv_chain_int8_edgetpu")))
    r = CompilerAnalyzer(binary).analyze(model("conv_chain_int8"))
    assert "-m" not in (binary.parent / "argv.txt").read_text().split()
    assert r.compiles and (r.ops_on_tpu, r.ops_on_cpu, r.partitions) == (4, 0, 1) and r.runtime_version == 14
    assert r.first_unmapped is None and all(o.mapped for o in r.ops)


def test_v14_output_without_timer_lines_and_log_file_only(model, fake_compiler):
    # 14.1 and 15.0 print no timer and no closing "Compilation ..." lines (reference §4); without -s output
    # the table is read from the .log file.
    stdout = V16_HEADER.format(stem="{stem}", subgraphs=1, total=6).replace(
        "16.0.384591198", "14.1.317412892"
    ).replace("Started a compilation timeout timer of 180 seconds.\n", "") + NOT_ALL.format(tpu=4, cpu=2)
    log = "Edge TPU Compiler version 14.1.317412892\nInput: m.tflite\nOutput: m_edgetpu.tflite\n" + _table(
        ("QUANTIZE", 1, UNSPECIFIED),
        ("CONV_2D", 2, MAPPED),
        ("DEPTHWISE_CONV_2D", 1, MAPPED),
        ("AVERAGE_POOL_2D", 1, MAPPED),
        ("DEQUANTIZE", 1, BAD_TYPE),
    )
    binary = fake_compiler(_success(stdout, model("conv_chain_float-io_edgetpu"), log))
    r = CompilerAnalyzer(binary, compiler_version=16).analyze(model("conv_chain_float-io"))
    assert r.compiler_version == "14.1.317412892" and r.runtime_version == 13
    assert (r.ops_on_tpu, r.ops_on_cpu, r.partitions) == (4, 2, 1)
    assert [(o.op, o.status) for o in r.ops if not o.mapped] == [
        ("QUANTIZE", UNSPECIFIED),
        ("DEQUANTIZE", BAD_TYPE),
    ]
    assert r.log == log
    assert any("policy asks for compiler 16" in n for n in r.notes)


def test_compile_that_maps_nothing_is_reported_as_such(model, fake_compiler):
    # google-coral/edgetpu#225 / litert-torch#150: "Number of Edge TPU subgraphs: 0" with exit 0.
    stdout = (
        V16_HEADER.format(stem="{stem}", subgraphs=0, total=1)
        + NOT_ALL.format(tpu=0, cpu=1)
        + _table(("CONV_2D", 1, "Tensor has unsupported rank (up to 3 innermost dimensions mapped)"))
        + V16_FOOTER
    )
    binary = fake_compiler(_success(stdout, model("batch2_conv")))
    r = CompilerAnalyzer(binary).analyze(model("batch2_conv"))
    assert r.compiles and (r.ops_on_tpu, r.partitions) == (0, 0)
    assert r.first_unmapped.status.startswith("Tensor has unsupported rank")


@pytest.mark.parametrize(
    "stdout, code, expected, hint",
    [
        (
            "Edge TPU Compiler version 15.0.340273435\nInvalid model: {stem}.tflite\nModel not quantized\n",
            1,
            "Invalid model: {stem}.tflite / Model not quantized",
            "full-integer quantization",
        ),
        (
            V16 + "ERROR: Didn't find op for builtin opcode 'QUANTIZE' version '3'. An older version of this "
            "builtin might be supported. Are you using an old TFLite binary with a newer model?\n\n"
            "ERROR: Registration failed.\n\nInvalid model: {stem}.tflite\nModel could not be parsed\n",
            1,
            "Didn't find op for builtin opcode 'QUANTIZE' version '3'",
            "per_channel: false",
        ),
        (
            "Edge TPU Compiler version 15.0.340273435\n\nInternal compiler error. Aborting! \n",
            1,
            "Internal compiler error. Aborting!",
            "the compiler crashed on this model",
        ),
        (
            V16 + TIMER + "ERROR: Restored original execution plan after delegate application failure.\n"
            "Compilation failed: Compilation failed due to large activation tensors in model.\n"
            "Compilation child process completed within timeout period.\nCompilation failed! \n",
            1,
            "large activation tensors",
            "lower the input resolution",
        ),
        (
            V16 + TIMER + "ERROR: Attempting to use a delegate that only supports static-sized tensors with "
            "a graph that has dynamic-sized tensors.\n"
            "Compilation failed: Model failed in Tflite interpreter. "
            "Please ensure model can be loaded/run in Tflite interpreter.\n"
            "Compilation child process completed within timeout period.\nCompilation failed! \n",
            1,
            "dynamic-sized tensors",
            "fixed input shape",
        ),
    ],
)
def test_whole_run_failures_are_rejections(model, fake_compiler, stdout, code, expected, hint):
    # Messages from reference §4, google-coral/edgetpu#879, #358, #439, #829.
    path = model("conv_chain_int8")
    stdout = stdout.replace("{stem}", path.stem)
    r = CompilerAnalyzer(fake_compiler(_prints(stdout, code))).analyze(path)
    assert not r.compiles and expected.replace("{stem}", path.stem) in r.rejection
    assert hint in r.hint and (r.ops_on_tpu, r.partitions) == (0, 0)


def test_a_hanging_compiler_is_stopped_with_everything_it_spawned(model, fake_compiler, tmp_path):
    pid_file = tmp_path / "child.pid"
    body = f"""
import subprocess
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
open({str(pid_file)!r}, "w").write(str(child.pid))
print("Edge TPU Compiler version 16.0.384591198", flush=True)
time.sleep(120)
"""
    started = time.monotonic()
    r = CompilerAnalyzer(fake_compiler(body), timeout_s=1).analyze(model("conv_chain_int8"))
    assert not r.compiles and "timed out" in r.rejection and "timeout_s" in r.hint
    assert time.monotonic() - started < 60
    child = int(pid_file.read_text())
    for _ in range(50):
        if not _alive(child):
            break
        time.sleep(0.1)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split()[2] != "Z"  # a zombie has exited


def test_a_crashing_compiler_is_not_a_compile(model, fake_compiler):
    body = f"sys.stdout.write({V16!r})\nsys.stdout.flush()\nos.kill(os.getpid(), signal.SIGSEGV)\n"
    r = CompilerAnalyzer(fake_compiler(body)).analyze(model("conv_chain_int8"))
    assert not r.compiles and r.rejection.startswith("edgetpu_compiler crashed (SIGSEGV)")


@pytest.mark.parametrize(
    "stdout",
    [
        "hello from a different tool\n",
        "Edge TPU Compiler version 16.0.384591198\nModel compiled successfully in 3 ms.\n",
        V16_HEADER.format(stem="m", subgraphs=1, total=4) + NOT_ALL.format(tpu=3, cpu=3),
    ],
)
def test_unknown_output_formats_never_count_as_compiled(model, fake_compiler, stdout):
    r = CompilerAnalyzer(fake_compiler(_prints(stdout, 0))).analyze(model("conv_chain_int8"))
    assert not r.compiles
    assert "unknown output format" in r.rejection or "cannot read" in r.rejection


def test_success_without_an_output_file_keeps_counts_and_says_so(model, fake_compiler):
    stdout = V16_HEADER.format(stem="m", subgraphs=1, total=4) + V16_FOOTER
    r = CompilerAnalyzer(fake_compiler(_prints(stdout, 0))).analyze(model("conv_chain_int8"))
    assert r.compiles and r.ops_on_tpu == 4 and r.ops == ()
    assert any("wrote no *_edgetpu.tflite" in n for n in r.notes)


def test_unreadable_input_fails_before_the_compiler_runs(fake_compiler, tmp_path):
    binary = fake_compiler(_prints("should not run", 0))
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"nope")
    with pytest.raises(InputError, match="not a TensorFlow Lite model"):
        CompilerAnalyzer(binary).analyze(bad)
    assert not (binary.parent / "argv.txt").exists()


def test_a_compiler_that_cannot_start_is_an_input_error(model, tmp_path):
    binary = tmp_path / "edgetpu_compiler"
    binary.write_bytes(b"\x7fELF not really")
    binary.chmod(0o755)
    with pytest.raises(InputError, match="could not be started"):
        CompilerAnalyzer(binary).analyze(model("conv_chain_int8"))


def test_parse_stdout_reads_the_reference_sample():
    sample = (
        V16_HEADER.format(stem="model", subgraphs=1, total=267)
        + NOT_ALL.format(tpu=264, cpu=3)
        + "See the operation log file for individual operation details.\n"
        + V16_FOOTER
    )
    report = parse_stdout(sample)
    assert (
        report.version,
        report.succeeded,
        report.subgraphs,
        report.total,
        report.on_tpu,
        report.on_cpu,
    ) == ("16.0.384591198", True, 1, 267, 264, 3)
    assert report.failure is None and report.table is None
