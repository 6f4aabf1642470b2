"""The Ethos-U target against the real Vela compiler, on small models converted here with TensorFlow.

Every model is a ``tf.function`` converted by the real TFLite converter (int8 with a few random
calibration samples, or the other conversions EdgeGate builds), then compiled by the installed
``ethos-u-vela`` in a child process. Expected figures are never written down: budgets are set
from the figures Vela reported (at them, and just under), and comparisons use properties that
hold for any correct compiler (a 16× larger feature map needs more SRAM and more cycles).
"""

from __future__ import annotations

import importlib.metadata
import math
import os
import pickle
import struct
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from edgegate.errors import InputError, PolicyError
from edgegate.status import Status
from edgegate.targets.ethos_u import vela as _vela
from edgegate.targets.ethos_u.vela import VelaError
from edgegate.targets.child_process import child_env
from edgegate.targets.ethos_u.target import EthosUReport, EthosUSettings, EthosUTarget, VsBase
from edgegate.targets.interface import AS_IS, PolicyPlace
from edgegate.units import parse_change

WHERE = PolicyPlace("models[0].targets.ethos-u", 9)
RNG = np.random.default_rng(0)


def _weights(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def convert(fn: Callable[..., Any], shape: tuple[int, ...], mode: str = "int8") -> bytes:
    """The real converter; int8 has int8 input and output (no float QUANTIZE / DEQUANTIZE at the edges)."""
    import tensorflow as tf

    concrete = tf.function(fn).get_concrete_function(tf.TensorSpec(shape, tf.float32))
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete])
    if mode == "float32":
        return converter.convert()
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
        return converter.convert()
    if mode == "dynamic":
        return converter.convert()
    rng = np.random.default_rng(1)
    converter.representative_dataset = lambda: (
        [rng.standard_normal(shape).astype(np.float32)] for _ in range(3)
    )
    if mode == "int16x8":
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
        ]
    else:
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Statistics for quantized inputs")
        return converter.convert()


W1, W2, W3 = _weights(3, 3, 3, 8), _weights(3, 3, 8, 1), _weights(1, 1, 8, 8)
DENSE = _weights(64, 300)  # over 1024 elements, so dynamic-range quantization does quantize it


def conv_chain(x: Any) -> Any:
    """CONV_2D (fused RELU), DEPTHWISE_CONV_2D, CONV_2D, AVERAGE_POOL_2D: all Ethos-U55 ops."""
    import tensorflow as tf

    y = tf.nn.relu(tf.nn.conv2d(x, W1, 1, "SAME"))
    y = tf.nn.depthwise_conv2d(y, W2, [1, 1, 1, 1], "SAME")
    y = tf.nn.conv2d(y, W3, 1, "SAME")
    return tf.nn.avg_pool2d(y, 2, 2, "VALID")


def wide_pool(x: Any) -> Any:
    """A 9×9 SAME average pool between convs: the U55 pools SAME-padded kernels of at most 8×8."""
    import tensorflow as tf

    y = tf.nn.conv2d(x, W1, 1, "SAME")
    y = tf.nn.avg_pool2d(y, 9, 1, "SAME")
    return tf.nn.conv2d(y, W3, 1, "SAME")


def dense(x: Any) -> Any:
    import tensorflow as tf

    return tf.nn.relu(tf.matmul(x, DENSE))


BUILDS: dict[str, Callable[[], bytes]] = {
    "conv": lambda: convert(conv_chain, (1, 8, 8, 3)),
    "conv_32": lambda: convert(conv_chain, (1, 32, 32, 3)),  # the same weights on 16× the pixels
    "wide_pool": lambda: convert(wide_pool, (1, 16, 16, 3)),
    "conv_int16x8": lambda: convert(conv_chain, (1, 8, 8, 3), "int16x8"),
    "conv_float32": lambda: convert(conv_chain, (1, 8, 8, 3), "float32"),
    "conv_float16": lambda: convert(conv_chain, (1, 8, 8, 3), "float16"),
    "dense_dynamic": lambda: convert(dense, (1, 64), "dynamic"),
}


class Models:
    """model(name) → path, converted on first use and shared by the module."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._paths: dict[str, Path] = {}

    def __call__(self, name: str) -> Path:
        if name not in self._paths:
            path = self.folder / f"{name}.tflite"
            path.write_bytes(BUILDS[name]())
            self._paths[name] = path
        return self._paths[name]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Models:
    return Models(tmp_path_factory.mktemp("ethos-u-models"))


@pytest.fixture(scope="module")
def report(model: Models) -> Callable[..., EthosUReport]:
    """report(name, **settings) → Vela's report, compiled once per model and Vela settings."""
    cache: dict[tuple[str, tuple[tuple[str, Any], ...]], EthosUReport] = {}

    def get(name: str, **settings: Any) -> EthosUReport:
        key = (name, tuple(sorted(settings.items())))
        if key not in cache:
            cache[key] = EthosUTarget(EthosUSettings(**settings)).analyze(model(name))
        return cache[key]

    return get


def checks(r: EthosUReport, base: EthosUReport | None = None, /, **settings: Any) -> dict[str, Any]:
    """The checks of ``settings`` on a report, by name (the report is reused: checks are pure)."""
    return {c.name: c for c in EthosUTarget(EthosUSettings(**settings)).checks(r, base, WHERE)}


# --- a model fully on the NPU -----------------------------------------------------------------


def test_int8_conv_chain_runs_fully_on_the_npu(report: Callable[..., EthosUReport]) -> None:
    r = report("conv")
    assert (r.ops_total, r.ops_on_npu, r.cpu_ops) == (4, 4, ())
    assert r.npu_partitions == 1  # one command stream: no CPU op splits the graph
    assert r.vela_version == importlib.metadata.version("ethos-u-vela")
    assert (r.accelerator, r.system_config, r.memory_mode) == (
        "ethos-u55-128",
        "Ethos_U55_High_End_Embedded",
        "Shared_Sram",
    )
    # Shared_Sram keeps feature maps in SRAM: at least the largest one, 8×8×8 int8 values.
    assert r.sram_bytes >= 8 * 8 * 8
    assert r.weights_area == "Off-chip Flash"
    assert 0 < r.weights_area_bytes < r.flash_bytes  # the file holds Vela's NPU data and more
    assert r.macs > 0 and r.cycles_total >= r.cycles_npu > 0
    # Vela's inference time is its cycle estimate at the system's clock (500 MHz for this config).
    assert r.inference_ms == pytest.approx(r.cycles_total / r.core_clock_hz * 1000, rel=1e-6)

    found = checks(r, all_on_npu=True, min_on_npu=1.0, min_on_npu_written="100%")
    assert found["ethos-u.compiles"].status is Status.PASS
    assert found["ethos-u.all_on_npu"].status is Status.PASS
    assert found["ethos-u.min_on_npu"].status is Status.PASS
    assert found["ethos-u.compiles"].value == "4/4 ops on the NPU"

    summary = EthosUTarget(EthosUSettings()).summary(r)
    assert summary.startswith("Ethos-U55-128: 4/4 ops on the NPU, SRAM ")
    assert summary.endswith(" (Vela estimate)")


def test_the_report_and_target_survive_pickling(report: Callable[..., EthosUReport]) -> None:
    """Reports come back from worker processes, targets go to them."""
    r = report("wide_pool")
    assert pickle.loads(pickle.dumps(r)) == r
    target = EthosUTarget(EthosUSettings(vs_base=VsBase(sram=parse_change("5%", "size"))))
    assert pickle.loads(pickle.dumps(target)) == target


# --- a model with an op Vela leaves on the CPU ------------------------------------------------


def test_an_unsupported_op_is_listed_with_velas_reason(report: Callable[..., EthosUReport]) -> None:
    r = report("wide_pool")
    assert (r.ops_total, r.ops_on_npu, r.ops_on_cpu) == (3, 2, 1)
    pool = r.cpu_ops[0]
    assert (pool.index, pool.op) == (1, "AVERAGE_POOL_2D")
    assert pool.reason is not None and "kernel width: 9 out of range" in pool.reason
    assert "Kernel width and height must be less than or equal to 8" in pool.detail
    assert r.npu_partitions == 2  # the CPU op splits the NPU work in two

    error = checks(r, all_on_npu=True)["ethos-u.all_on_npu"]
    assert error.status is Status.FAIL
    assert "AVERAGE_POOL_2D" in error.message and "kernel width: 9 out of range" in error.message
    assert checks(r, level="warn", all_on_npu=True)["ethos-u.all_on_npu"].status is Status.WARN
    # Ops did reach the NPU, so the model does compile for it.
    assert checks(r)["ethos-u.compiles"].status is Status.PASS
    assert "(1 on the CPU)" in EthosUTarget(EthosUSettings()).summary(r)


@pytest.mark.parametrize(
    ("minimum", "status"),
    [(0.6, Status.PASS), (2 / 3, Status.PASS), (0.7, Status.FAIL), (1.0, Status.FAIL)],
)
def test_min_on_npu_compares_the_share_of_ops(
    report: Callable[..., EthosUReport], minimum: float, status: Status
) -> None:
    r = report("wide_pool")  # 2 of 3 ops on the NPU
    found = checks(r, min_on_npu=minimum)["ethos-u.min_on_npu"]
    assert found.status is status
    assert found.value == "66.7% (2/3)"
    if status is Status.FAIL:
        assert "kernel width: 9 out of range" in found.message


def test_a_latency_within_budget_with_cpu_ops_is_not_a_pass(report: Callable[..., EthosUReport]) -> None:
    """Vela estimates the NPU only: CPU time is missing from the figure, so it cannot confirm a budget."""
    r = report("wide_pool")
    found = checks(r, latency_max_ms=r.inference_ms * 2)["ethos-u.latency"]
    assert found.status is Status.WARN
    assert "not in Vela's estimate" in found.message


# --- budgets ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "figure", "check"),
    [
        ("sram_max", "sram_bytes", "ethos-u.sram"),
        ("flash_max", "flash_bytes", "ethos-u.flash"),
        ("latency_max_ms", "inference_ms", "ethos-u.latency"),
    ],
)
def test_budgets_pass_at_the_figure_and_fail_below_it(
    report: Callable[..., EthosUReport], setting: str, figure: str, check: str
) -> None:
    r = report("conv")
    value = getattr(r, figure)
    assert value > 0
    at = checks(r, **{setting: value})[check]
    under = checks(r, **{setting: value - 1 if isinstance(value, int) else value * 0.99})[check]
    assert at.status is Status.PASS
    assert under.status is Status.FAIL
    assert "over the" in under.message
    assert checks(r, level="warn", **{setting: 0})[check].status is Status.WARN
    if check == "ethos-u.latency":
        assert at.value is not None and at.value.endswith("(Vela estimate)")


def test_budgets_written_as_in_the_policy(report: Callable[..., EthosUReport]) -> None:
    r = report("conv")
    settings = EthosUSettings.from_policy(
        {
            "sram": f"{r.sram_bytes} B",
            "flash": f"{r.flash_bytes - 1} B",
            # Whole nanoseconds, rounded up (and one more, against float rounding): not under the figure.
            "latency": f"{(math.ceil(r.inference_ms * 1e6) + 1) / 1000} us",
        }
    )
    found = {c.name: c for c in EthosUTarget(settings).checks(r, None, WHERE)}
    assert found["ethos-u.sram"].status is Status.PASS
    assert found["ethos-u.flash"].status is Status.FAIL
    assert found["ethos-u.latency"].status is Status.PASS
    assert found["ethos-u.sram"].key == "models[0].targets.ethos-u.sram"
    assert found["ethos-u.sram"].line == 9


# --- against the base version -----------------------------------------------------------------


def test_vs_base_limits_growth_over_the_base_version(report: Callable[..., EthosUReport]) -> None:
    small, large = report("conv"), report("conv_32")
    # 16× the pixels: more feature-map SRAM and more cycles, whatever the compiler's details.
    assert large.sram_bytes > small.sram_bytes * 1.1
    assert large.inference_ms > small.inference_ms * 1.1
    vs = VsBase(sram=parse_change("10%", "size"), latency=parse_change("10%", "latency"))

    grown = checks(large, small, vs_base=vs)
    assert grown["ethos-u.sram_vs_base"].status is Status.FAIL
    assert grown["ethos-u.latency_vs_base"].status is Status.FAIL
    assert "more than the 10% allowed" in grown["ethos-u.sram_vs_base"].message

    shrunk = checks(small, large, vs_base=vs)
    assert shrunk["ethos-u.sram_vs_base"].status is Status.PASS
    assert shrunk["ethos-u.latency_vs_base"].status is Status.PASS

    # An absolute limit, at exactly the growth and one byte under it.
    delta = large.flash_bytes - small.flash_bytes
    head, base = (large, small) if delta >= 0 else (small, large)
    exact = VsBase(flash=parse_change(f"{abs(delta)} B", "size"))
    assert checks(head, base, vs_base=exact)["ethos-u.flash_vs_base"].status is Status.PASS
    if delta:
        tight = VsBase(flash=parse_change(f"{abs(delta) - 1} B", "size"))
        assert checks(head, base, vs_base=tight)["ethos-u.flash_vs_base"].status is Status.FAIL


def test_vs_base_needs_the_base_and_skips_without_it(report: Callable[..., EthosUReport]) -> None:
    assert not EthosUTarget(EthosUSettings(sram_max=1)).needs_base()
    target = EthosUTarget(EthosUSettings(vs_base=VsBase(flash=parse_change("1 KiB", "size"))))
    assert target.needs_base()
    (skipped,) = [c for c in target.checks(report("conv"), None, WHERE) if c.name == "ethos-u.flash_vs_base"]
    assert skipped.status is Status.SKIP


# --- which conversions can run on the NPU -----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "conversion"),
    [("conv_float32", "float32"), ("conv_float16", "float16"), ("dense_dynamic", "dynamic")],
)
def test_float_activation_conversions_never_reach_the_npu(
    report: Callable[..., EthosUReport], name: str, conversion: str
) -> None:
    """What never_applies says, checked against Vela: it leaves every float op on the CPU."""
    target = EthosUTarget(EthosUSettings())
    sentence = target.never_applies(conversion)
    assert sentence is not None and "CPU" in sentence
    r = report(name)
    assert r.ops_total > 0 and r.ops_on_npu == 0
    assert any("Float32" in (c.reason or "") for c in r.cpu_ops)
    assert checks(r)["ethos-u.compiles"].status is Status.FAIL


def test_int16x8_is_compiled_for_the_npu(report: Callable[..., EthosUReport]) -> None:
    """Ethos-U55 runs 16-bit activations with 8-bit weights, so int16x8 candidates are analyzed."""
    target = EthosUTarget(EthosUSettings())
    assert target.never_applies("int16x8") is None
    assert target.never_applies("int8") is None
    assert target.never_applies(AS_IS) is None
    r = report("conv_int16x8")
    # The four compute ops run on the NPU; only the float input/output conversions stay on the CPU.
    assert r.ops_on_npu == 4
    assert {c.op for c in r.cpu_ops} <= {"QUANTIZE", "DEQUANTIZE"}


# --- settings and Vela's configurations -------------------------------------------------------


def test_the_documented_policy_reads_as_settings() -> None:
    s = EthosUSettings.from_policy(
        {
            "accelerator": "ethos-u55-128",
            "sram": "384 KiB",
            "flash": "2 MiB",
            "latency": "10 ms",
            "min_on_npu": "95%",
            "vs_base": {"sram": "10%"},
        }
    )
    assert (s.sram_max, s.flash_max, s.latency_max_ms) == (384 * 1024, 2 * 1024**2, 10.0)
    assert s.min_on_npu == pytest.approx(0.95) and s.min_on_npu_written == "95%"
    assert s.vs_base.sram is not None and s.vs_base.sram.relative and s.vs_base.flash is None
    assert (s.system, s.memory) == ("Ethos_U55_High_End_Embedded", "Shared_Sram")


def test_each_family_defaults_to_velas_own_choice() -> None:
    u65 = EthosUSettings.from_policy({"accelerator": "ethos-u65-256"})
    assert (u65.system, u65.memory) == ("Ethos_U65_Client_Server", "Dedicated_Sram_384KB")
    u85 = EthosUSettings.from_policy({"accelerator": "ethos-u85-256"})
    assert (u85.system, u85.memory) == ("Ethos_U85_SYS_DRAM_Mid", "Dedicated_Sram_384KB")
    assert EthosUTarget(EthosUSettings(accelerator="ethos-u65-512")).title == "Ethos-U65-512"


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({"system_config": "Ethos_U65_High_End"}, ["another Ethos-U system", "Ethos_U55_High_End_Embedded"]),
        ({"memory_mode": "Dedicated_Sram"}, ["arena_mem_area", "OffChipFlash", "DRAM"]),
        ({"system_config": "Nope"}, ["'Nope' is not in Vela's vela.ini", "Ethos_U55_Deep_Embedded"]),
        ({"memory_mode": "Nope"}, ["'Nope' is not in Vela's vela.ini", "Shared_Sram"]),
        ({"accelerator": "ethos-u99-1"}, ["accelerator must be one of", "ethos-u55-128"]),
        ({"sram": "12 parsecs"}, ["ethos-u.sram", "unknown size unit"]),
        ({"min_on_npu": "120%"}, ["min_on_npu", "between 0% and 100%"]),
        ({"vs_base": {"macs": "5%"}}, ["vs_base.macs", "sram, flash and latency"]),
        ({"all_on_npu": "yes"}, ["all_on_npu", "true or false"]),
        ({"sram_budget": "1 KiB"}, ["sram_budget", "unknown setting"]),
    ],
)
def test_bad_settings_are_policy_errors_that_say_what_fits(raw: dict[str, Any], words: list[str]) -> None:
    with pytest.raises(PolicyError) as caught:
        EthosUSettings.from_policy(raw, key="models[0].targets.ethos-u", line=4)
    text = str(caught.value)
    assert "line 4: models[0].targets.ethos-u" in text
    for word in words:
        assert word in text


def test_vela_itself_accepts_every_bundled_combination_the_check_accepts(model: Models) -> None:
    """The vela.ini check is not stricter than Vela where it matters: a U65 + DRAM config compiles."""
    s = EthosUSettings.from_policy({"accelerator": "ethos-u65-256", "system_config": "Ethos_U65_Mid_End"})
    r = EthosUTarget(s).analyze(model("conv"))
    assert (r.system_config, r.memory_mode, r.weights_area) == (
        "Ethos_U65_Mid_End",
        "Dedicated_Sram_384KB",
        "DRAM",
    )


def test_the_memory_mode_reaches_vela(report: Callable[..., EthosUReport]) -> None:
    """Sram_Only: Vela keeps read-only data in "on-chip flash" next to the SRAM."""
    r = report("conv", memory_mode="Sram_Only")
    assert r.memory_mode == "Sram_Only"
    assert r.weights_area == "On-chip Flash" and r.weights_area_bytes > 0


def test_settings_that_bypassed_the_policy_are_refused_before_vela_runs(model: Models) -> None:
    target = EthosUTarget(EthosUSettings(memory_mode="Dedicated_Sram"))
    with pytest.raises(VelaError, match="arena_mem_area"):
        target.analyze(model("conv"))


# --- hostile and broken input -----------------------------------------------------------------


def test_a_garbage_file_is_an_input_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "garbage.tflite"
    path.write_bytes(b"definitely not a flatbuffer\n" * 20)
    with pytest.raises(InputError, match="garbage.tflite"):
        EthosUTarget(EthosUSettings()).analyze(path)


def test_a_truncated_model_is_an_input_error(model: Models, tmp_path: Path) -> None:
    path = tmp_path / "truncated.tflite"
    path.write_bytes(model("conv").read_bytes()[:1500])
    with pytest.raises(InputError, match="truncated.tflite"):
        EthosUTarget(EthosUSettings()).analyze(path)


def _break_description(data: bytes) -> bytes:
    """Point the Model table's description string far outside the file.

    EdgeGate's reader never reads the description, so the file passes it; Vela's flatbuffer
    verifier rejects it ("Buffer contents inconsistent with generated schema") and Vela 5.2 then
    crashes: the input that makes a child process necessary.
    """
    d = bytearray(data)
    root = struct.unpack_from("<I", d, 0)[0]
    vtable = root - struct.unpack_from("<i", d, root)[0]
    offset = struct.unpack_from("<H", d, vtable + 4 + 2 * 3)[0]  # field 3 of Model: description
    assert offset, "the converter wrote no description"
    struct.pack_into("<I", d, root + offset, 0x7FFFFFF0)
    return bytes(d)


def test_a_file_that_crashes_vela_is_an_input_error_naming_it(model: Models, tmp_path: Path) -> None:
    path = tmp_path / "hostile.tflite"
    path.write_bytes(_break_description(model("conv").read_bytes()))
    with pytest.raises(InputError) as caught:
        EthosUTarget(EthosUSettings()).analyze(path)
    text = str(caught.value)
    assert "hostile.tflite" in text and "Vela" in text
    assert "Traceback" not in text


def test_a_model_vela_refuses_is_an_input_error_quoting_vela(model: Models, tmp_path: Path) -> None:
    from ai_edge_litert.tools import flatbuffer_utils

    m = flatbuffer_utils.read_model(str(model("conv")))
    graph = m.subgraphs[0]
    graph.tensors[graph.operators[0].inputs[1]].shape = [8, 3, 3, 300]  # filter depth ≠ input depth
    path = tmp_path / "bad_filter.tflite"
    flatbuffer_utils.write_model(m, str(path))
    with pytest.raises(InputError) as caught:
        EthosUTarget(EthosUSettings()).analyze(path)
    text = str(caught.value)
    assert "bad_filter.tflite" in text and "refused" in text
    assert "IFM depth must be a whole multiple of the filter kernel depth" in text
    assert "Traceback" not in text


def test_an_already_compiled_model_is_an_input_error(model: Models, tmp_path: Path) -> None:
    run = _vela.run_vela(
        model("conv"),
        accelerator="ethos-u55-128",
        system_config="Ethos_U55_High_End_Embedded",
        memory_mode="Shared_Sram",
        optimise="Performance",
        timeout_s=300,
    )
    assert run.returncode == 0 and run.compiled is not None
    path = tmp_path / "conv_vela.tflite"
    path.write_bytes(run.compiled)
    with pytest.raises(InputError, match="already compiled by Vela"):
        EthosUTarget(EthosUSettings()).analyze(path)


def test_a_timeout_stops_vela_with_a_clear_error(model: Models) -> None:
    target = EthosUTarget(EthosUSettings(timeout_s=0.001))  # less than Python takes to start
    with pytest.raises(VelaError, match=r"Vela timed out on conv\.tflite: no answer within 0\.001 s"):
        target.analyze(model("conv"))


def test_a_failed_analysis_and_a_skipped_candidate_are_checks() -> None:
    error = EthosUTarget(EthosUSettings()).failed("Vela timed out", WHERE)
    assert [(c.name, c.status) for c in error] == [("ethos-u.compiles", Status.FAIL)]
    assert "Ethos-U55-128 check failed: Vela timed out" in error[0].message
    assert EthosUTarget(EthosUSettings(level="warn")).failed("x", WHERE)[0].status is Status.WARN
    (skipped,) = EthosUTarget(EthosUSettings()).skipped("a float32 model ...", WHERE)
    assert skipped.status is Status.SKIP
    assert EthosUTarget(EthosUSettings(level="off")).failed("x", WHERE) == ()


# --- Vela's outputs, read defensively ---------------------------------------------------------


@pytest.fixture(scope="module")
def real_run(model: Models) -> _vela.VelaRun:
    """One real run on the CPU-fallback model: the outputs the parsers are tested on."""
    return _vela.run_vela(
        model("wide_pool"),
        accelerator="ethos-u55-128",
        system_config="Ethos_U55_High_End_Embedded",
        memory_mode="Shared_Sram",
        optimise="Performance",
        timeout_s=300,
    )


def test_the_summary_csv_is_the_layout_read(real_run: _vela.VelaRun) -> None:
    assert real_run.summary_csv is not None
    summary = _vela.parse_summary(real_run.summary_csv, "summary.csv")
    assert (summary.accelerator, summary.system_config, summary.memory_mode) == (
        "Ethos_U55_128",
        "Ethos_U55_High_End_Embedded",
        "Shared_Sram",
    )
    assert summary.core_clock_hz == 500e6  # the clock vela.ini gives this system config


def _edit_csv(text: str, edit: Callable[[list[list[str]]], None]) -> str:
    import csv
    import io

    rows = [r for r in csv.reader(io.StringIO(text)) if r]
    edit(rows)
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


def _drop_column(name: str) -> Callable[[list[list[str]]], None]:
    def edit(rows: list[list[str]]) -> None:
        i = rows[0].index(name)
        for r in rows:
            del r[i]

    return edit


def _set(name: str, value: str) -> Callable[[list[list[str]]], None]:
    def edit(rows: list[list[str]]) -> None:
        rows[1][rows[0].index(name)] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (_drop_column("sram_memory_used"), "no 'sram_memory_used' column"),
        (_drop_column("inference_time"), "no 'inference_time' column"),
        (_set("cycles_total", "n/a"), "cycles_total is 'n/a'"),
        (_set("sram_memory_used", "-1"), "sram_memory_used is '-1'"),
        (_set("weights_storage_area", "Tape"), "weights_storage_area is 'Tape'"),
        (lambda rows: rows.append(rows[1]), "3 row(s)"),
        (lambda rows: rows.pop(), "1 row(s)"),
    ],
)
def test_unreadable_summary_output_is_an_error_not_a_zero(
    real_run: _vela.VelaRun, edit: Callable[[list[list[str]]], None], words: str
) -> None:
    assert real_run.summary_csv is not None
    with pytest.raises(VelaError) as caught:
        _vela.parse_summary(_edit_csv(real_run.summary_csv, edit), "model_summary_X.csv")
    assert words in str(caught.value) and "model_summary_X.csv" in str(caught.value)


def test_cpu_warnings_are_read_from_velas_stdout(real_run: _vela.VelaRun) -> None:
    (warning,) = _vela.parse_warnings(real_run.stdout)
    assert warning.op == "AVERAGE_POOL_2D"
    assert warning.reason == "kernel width: 9 out of range"


def test_vela_runs_with_a_minimal_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "secret")
    env = child_env(tmp_path)
    assert "GITHUB_TOKEN" not in env and "secret" not in env.values()
    assert env["HOME"] == str(tmp_path)
    assert set(env) == {
        "PATH",
        "HOME",
        "TMPDIR",
        "LANG",
        "PYTHONUNBUFFERED",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONNOUSERSITE",
    }


def test_a_cpu_op_missing_from_the_source_counts_against_the_npu(
    model: Models, real_run: _vela.VelaRun, tmp_path: Path
) -> None:
    """The NPU share is never overstated: Vela's real output, its CPU op renamed so no source op matches."""
    from ai_edge_litert.tools import flatbuffer_utils

    from edgegate.targets.flatbuffer import read_tflite
    from edgegate.targets.ethos_u.target import build_report

    assert real_run.compiled is not None and real_run.summary_csv is not None
    (tmp_path / "out.tflite").write_bytes(real_run.compiled)
    m = flatbuffer_utils.read_model(str(tmp_path / "out.tflite"))
    graph = m.subgraphs[0]
    (pool,) = [op for op in graph.operators if m.operatorCodes[op.opcodeIndex].customCode is None]
    graph.tensors[pool.outputs[0]].name = b"renamed-by-the-test"
    flatbuffer_utils.write_model(m, str(tmp_path / "renamed.tflite"))

    r = build_report(
        EthosUSettings(),
        read_tflite(model("wide_pool")),
        read_tflite(tmp_path / "renamed.tflite"),
        _vela.parse_summary(real_run.summary_csv, "summary.csv"),
        vela_version="test",
        flash_bytes=len(real_run.compiled),
        warnings=_vela.parse_warnings(real_run.stdout),
    )
    assert [(c.index, c.tensor) for c in r.cpu_ops] == [(None, "renamed-by-the-test")]
    assert (r.ops_total, r.ops_on_npu) == (3, 2)
    assert any("not in the source model" in n for n in r.notes)
