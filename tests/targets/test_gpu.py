"""The GPU delegate target on small models built here and converted with the real TFLite converter.

The models are built once per module (about a second each). The compatibility verdicts
come from whichever checker the installed TensorFlow has (see gpu_analyzer's docstring);
``test_installed_checker_*`` pins which one that is, so an upgrade that changes it is seen.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from edgegate.errors import InputError
from edgegate.policy.load import parse_dataset
from edgegate.status import Status
from edgegate.targets.gpu import analyzer as gpu_analyzer
from edgegate.target_reports.gpu import GpuFallback, GpuReport
from edgegate.targets.gpu.settings import FP16_MAX
from edgegate.targets.gpu.target import GpuSettings, GpuTarget
from edgegate.targets.interface import AS_IS, PolicyPlace

WHERE = PolicyPlace("models[0].targets.gpu", 7)
KEY = "models[0].eval.data"
ROOT = Path(__file__).resolve().parents[2]


def _tf():
    import tensorflow as tf

    return tf


def _quantize(converter, shapes, mode: str) -> bytes:
    tf = _tf()
    if mode == "float32":
        return converter.convert()
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
        return converter.convert()
    rng = np.random.default_rng(1)
    converter.representative_dataset = lambda: (
        [rng.uniform(-1, 1, s).astype(np.float32) for s in shapes] for _ in range(4)
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


def _keras(model, mode: str = "float32") -> bytes:
    converter = _tf().lite.TFLiteConverter.from_keras_model(model)
    return _quantize(converter, [(1, *t.shape[1:]) for t in model.inputs], mode)


def _function(fn, shapes, flex: bool = False) -> bytes:
    tf = _tf()
    concrete = fn.get_concrete_function(*[tf.TensorSpec(s, tf.float32) for s in shapes])
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], fn)
    if flex:
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
    return converter.convert()


def _conv_net():
    import tf_keras as keras

    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.layers.Input((8, 8, 3)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(5),
            keras.layers.Softmax(),
        ]
    )


def _scaled_dense(scale: float):
    """Input(8) -> Dense(4, kernel = scale everywhere): on ones, every output is 8 * scale."""
    import tf_keras as keras

    model = keras.Sequential([keras.layers.Input((8,)), keras.layers.Dense(4, use_bias=False)])
    model.layers[0].set_weights([np.full((8, 4), scale, np.float32)])
    return model


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    tf = _tf()
    out = tmp_path_factory.mktemp("gpu-models")
    net = _conv_net()

    @tf.function
    def argmax(x):
        return tf.math.argmax(tf.nn.relu(x) * 2.0, axis=-1)

    @tf.function
    def cumprod(x):
        return tf.math.cumprod(x + 1.0, axis=-1) + x

    @tf.function
    def forever(x):  # the condition is always true: |v| summed is never negative
        return tf.while_loop(lambda v: tf.reduce_sum(tf.abs(v)) >= 0.0, lambda v: v * 0.5, [x])[0]

    @tf.function
    def wide(x):
        return x * 2.0

    built = {
        "float32": _keras(net),
        "float16": _keras(net, "float16"),
        "int8": _keras(net, "int8"),
        "int16x8": _keras(net, "int16x8"),
        "argmax": _function(argmax, [(1, 8)]),
        "flex": _function(cumprod, [(1, 8)], flex=True),
        "loop": _function(forever, [(1, 4)]),
        "wide": _function(wide, [(1, 500_000_000)]),  # a file of a few hundred bytes
        "overflow": _keras(_scaled_dense(12500.0)),  # 100,000 on ones
        "near": _keras(_scaled_dense(5000.0)),  # 40,000 on ones: within 2x of 65,504
        "small": _keras(_scaled_dense(0.5)),  # 4 on ones
    }
    paths = {}
    for name, data in built.items():
        paths[name] = out / f"{name}.tflite"
        paths[name].write_bytes(data)
    return paths


@pytest.fixture
def ones(tmp_path) -> Path:
    path = tmp_path / "ones.npy"
    np.save(path, np.ones((3, 8), np.float32))
    return path


def target(samples: Path | None = None, x_key: str | None = None, **settings) -> GpuTarget:
    """The target of a model whose eval data is ``samples``, its folder the repository."""
    if samples is None:
        return GpuTarget(GpuSettings(**settings))
    value = samples.name if x_key is None else {"path": samples.name, "x_key": x_key}
    return GpuTarget.observing(GpuSettings(**settings), parse_dataset(value, key=KEY), samples.parent)


def by_name(checks) -> dict:
    return {c.name: c for c in checks}


# --- which checker speaks ------------------------------------------------------------------------


def test_installed_checker_passes_the_canary_so_edgegates_rules_decide(models):
    """TensorFlow's wheel ships the analyzer without its GPU rules: it even passes a Flex op,
    which TensorFlow's own analyzer_test expects it to flag. EdgeGate must not trust it."""
    so = gpu_analyzer._analyzer_extension()
    assert so is not None and so.is_file()
    canary_text, flex_text = gpu_analyzer.run_checker(so, models["flex"])
    assert not gpu_analyzer.checker_is_live(canary_text)
    assert "GPU COMPATIBILITY WARNING" not in flex_text
    assert "looks compatible with GPU delegate" in flex_text

    report = target().analyze(models["flex"])
    assert "EdgeGate's port of the LiteRT GPU rules" in report.checker
    assert "no GPU rules compiled in" in report.checker
    assert report.fallbacks == (GpuFallback(1, "FlexCumprod", "Not supported custom op FlexCumprod"),)


def test_checker_output_in_the_format_of_a_build_with_gpu_rules(models):
    """The live checker's format (model_analyzer.cc; strings TensorFlow's analyzer_test asserts),
    laid into the real output of the installed analyzer for the same model."""
    from edgegate.targets.flatbuffer import read_tflite

    so = gpu_analyzer._analyzer_extension()
    assert so is not None
    _, text = gpu_analyzer.run_checker(so, models["flex"])
    lines = [line for line in text.splitlines() if not line.startswith("Your model looks compatible")]
    at = next(i for i, line in enumerate(lines) if line.startswith("  Op#1 FlexCumprod("))
    lines.insert(at + 1, "GPU COMPATIBILITY WARNING: Not supported custom op FlexCumprod")
    tensors = next(i for i, line in enumerate(lines) if line.startswith("Tensors of Subgraph#0"))
    lines[tensors:tensors] = [
        "",
        "GPU COMPATIBILITY WARNING: Subgraph#0 has GPU delegate compatibility issues at nodes 1 "
        "with TFLite runtime version 2.21.0",
    ]
    live = "\n".join(lines)
    tfl = read_tflite(models["flex"])
    assert gpu_analyzer.parse_checker_output(live, tfl, models["flex"]) == [
        None,
        "Not supported custom op FlexCumprod",
        None,
    ]

    canary = "Subgraph#0 main(T#0) -> [T#1]\n  Op#0 EdgeGateCanary(T#0) -> [T#1]\n"
    assert gpu_analyzer.checker_is_live(
        canary + "GPU COMPATIBILITY WARNING: Not supported custom op EdgeGateCanary\n"
    )
    assert not gpu_analyzer.checker_is_live(
        canary + "\nYour model looks compatible with GPU delegate on X.\n"
    )

    # Anything else fails loudly, naming what it could not read: never a pass.
    odd = live.replace("GPU COMPATIBILITY WARNING: Not supported", "GPU NOTE: Not supported")
    with pytest.raises(gpu_analyzer.CheckerOutputError, match="unrecognised line.*GPU NOTE"):
        gpu_analyzer.parse_checker_output(odd, tfl, models["flex"])
    mute = "\n".join(line for line in text.splitlines() if not line.startswith("Your model looks compatible"))
    with pytest.raises(gpu_analyzer.CheckerOutputError, match="no verdict"):
        gpu_analyzer.parse_checker_output(mute, tfl, models["flex"])
    short = "\n".join(line for line in text.splitlines() if not line.startswith("  Op#2 "))
    with pytest.raises(gpu_analyzer.CheckerOutputError, match="listed 2 ops .* the file has 3"):
        gpu_analyzer.parse_checker_output(short, tfl, models["flex"])
    summary = live.replace("at nodes 1 with", "at nodes 0, 1 with")
    with pytest.raises(gpu_analyzer.CheckerOutputError, match=r"summary lists nodes \[0, 1\]"):
        gpu_analyzer.parse_checker_output(summary, tfl, models["flex"])


def test_rule_tables_name_real_tflite_ops():
    from ai_edge_litert import schema_py_generated as schema

    builtin = {k for k in vars(schema.BuiltinOperator) if not k.startswith("_")}
    assert gpu_analyzer.SUPPORTED_OPS <= builtin, gpu_analyzer.SUPPORTED_OPS - builtin


# --- delegation budgets --------------------------------------------------------------------------


def test_float_model_runs_whole_on_the_gpu(models):
    t = target(all_delegated=True, min_delegated=0.9, min_delegated_written="90%")
    report = t.analyze(models["float32"])
    assert (report.ops_total, report.ops_delegated, report.fallbacks) == (4, 4, ())
    checks = by_name(t.checks(report, None, WHERE))
    assert [c.status for c in checks.values()] == [Status.PASS] * 4
    assert checks["gpu.min_delegated"].value == "100.0% (4/4)"
    assert checks["gpu.delegated"].key == WHERE.key and checks["gpu.delegated"].line == 7
    assert t.summary(report) == "GPU: 4/4 ops delegated; 0 fp16-overflow risks"


def test_unsupported_builtin_falls_back_and_breaks_the_budgets(models):
    report = target().analyze(models["argmax"])
    assert [(f.index, f.op) for f in report.fallbacks] == [(2, "ARG_MAX")]
    assert report.fallbacks[0].reason == "Not supported op ARG_MAX"
    assert (report.ops_total, report.ops_delegated) == (3, 2)

    strict = by_name(target(all_delegated=True, min_delegated=0.9).checks(report, None, WHERE))
    assert strict["gpu.delegated"].status is Status.PASS
    assert strict["gpu.all_delegated"].status is Status.FAIL
    assert "#2 ARG_MAX: Not supported op ARG_MAX" in strict["gpu.all_delegated"].message
    assert strict["gpu.min_delegated"].status is Status.FAIL
    assert strict["gpu.min_delegated"].value == "66.7% (2/3)"
    lenient = by_name(target(level="warn", all_delegated=True, min_delegated=0.6).checks(report, None, WHERE))
    assert lenient["gpu.all_delegated"].status is Status.WARN
    assert lenient["gpu.min_delegated"].status is Status.PASS


def test_flex_op_falls_back_and_its_fp16_range_is_reported_unknown(models):
    t = target(fp16_overflow="error")
    report = t.analyze(models["flex"])
    assert report.samples_used == 0 and report.data_source.startswith("not observed")
    fp16 = by_name(t.checks(report, None, WHERE))["gpu.fp16_overflow"]
    assert fp16.status is Status.WARN and "unknown" in fp16.message


def test_int8_model_is_taken_whole(models):
    """Quantized models are allowed by the delegate's default options: int8 tensors are accepted."""
    report = target().analyze(models["int8"])
    assert report.fallbacks == ()
    assert report.ops_delegated == report.ops_total > 0


def test_float16_weights_behind_dequantize_count_as_constants(models):
    from edgegate.targets.flatbuffer import read_tflite

    assert "DEQUANTIZE" in {op.op for op in read_tflite(models["float16"]).operators}
    report = target().analyze(models["float16"])
    assert report.fallbacks == ()  # the convolution still takes its weights as constants
    assert report.ops_delegated == report.ops_total


def test_int16x8_never_applies_and_its_ops_all_fall_back(models):
    t = target()
    reason = t.never_applies("int16x8")
    assert reason is not None and "int16" in reason
    assert [t.never_applies(c) for c in ("float32", "float16", "dynamic", "int8", AS_IS)] == [None] * 5

    report = t.analyze(models["int16x8"])  # as the rules see it when it comes as-is
    assert report.ops_delegated == 0
    assert all("int16" in f.reason or "dequantization" in f.reason for f in report.fallbacks)
    delegated = by_name(t.checks(report, None, WHERE))["gpu.delegated"]
    assert delegated.status is Status.FAIL and "no op runs on the GPU delegate" in delegated.message
    assert t.skipped(reason, WHERE)[0].status is Status.SKIP


def test_vs_base_compares_the_delegated_share(models):
    t = target(vs_base=True, fp16_overflow="off")
    assert t.needs_base()
    worse, better = t.analyze(models["argmax"]), t.analyze(models["float32"])
    assert by_name(t.checks(worse, better, WHERE))["gpu.vs_base"].status is Status.FAIL
    assert by_name(t.checks(better, worse, WHERE))["gpu.vs_base"].status is Status.PASS
    assert by_name(t.checks(worse, None, WHERE))["gpu.vs_base"].status is Status.SKIP
    assert "gpu.fp16_overflow" not in by_name(t.checks(worse, None, WHERE))
    assert t.summary(worse) == "GPU: 2/3 ops delegated"


# --- fp16 range ----------------------------------------------------------------------------------


def test_overflowing_dense_is_flagged_op_by_op(models, ones):
    t = target(ones, fp16_overflow="error")
    report = t.analyze(models["overflow"])
    assert report.samples_used == 3 and report.data_source == f"3 of 3 samples from {KEY} (ones.npy)"
    [risk] = report.fp16_overflows
    assert risk.op == "FULLY_CONNECTED" and risk.max_abs == pytest.approx(100000.0)
    assert risk.max_abs > FP16_MAX
    check = by_name(t.checks(report, None, WHERE))["gpu.fp16_overflow"]
    assert check.status is Status.FAIL and "FULLY_CONNECTED" in check.message
    assert target(ones, fp16_overflow="warn").checks(report, None, WHERE)[-1].status is Status.WARN
    assert t.summary(report) == "GPU: 1/1 ops delegated; 1 fp16-overflow risk"


def test_near_and_safe_models(models, ones, tmp_path):
    near = target(ones).analyze(models["near"])
    assert near.fp16_overflows == () and [r.max_abs for r in near.fp16_near] == [pytest.approx(40000.0)]
    check = target(ones).checks(near, None, WHERE)[-1]
    assert check.status is Status.PASS and "near the limit" in check.message

    safe = target(ones).analyze(models["small"])
    assert safe.fp16_overflows == () and safe.fp16_near == ()

    # The same model on larger data overflows: the verdict is about the data seen.
    npz = tmp_path / "big.npz"
    np.savez(npz, x=np.full((2, 8), 20000.0, np.float32))
    [risk] = target(npz).analyze(models["small"]).fp16_overflows
    assert risk.max_abs == pytest.approx(80000.0)


def test_random_inputs_when_no_samples_are_given(models):
    report = target().analyze(models["int8"])
    assert report.samples_used == gpu_analyzer.RANDOM_SAMPLES
    assert "random inputs (the quantized range; no samples given)" in report.data_source
    check = target().checks(report, None, WHERE)[-1]
    assert check.status is Status.PASS and "no samples given" in check.message


# --- hostile input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", "not a TensorFlow Lite model"),
        (b"<html>not a model</html>", "not a TensorFlow Lite model"),
        (b"version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 9\n", "Git LFS pointer"),
    ],
)
def test_malformed_model_files_name_the_file(tmp_path, content, match):
    path = tmp_path / "bad.tflite"
    path.write_bytes(content)
    with pytest.raises(InputError, match=match) as e:
        target().analyze(path)
    assert str(path) in str(e.value)


def test_truncated_model_names_the_file(models, tmp_path):
    path = tmp_path / "cut.tflite"
    path.write_bytes(models["float32"].read_bytes()[:600])
    with pytest.raises(InputError) as e:
        target().analyze(path)
    assert str(path) in str(e.value)


def _bad_samples(tmp_path) -> list[tuple[Path, str]]:
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.ones((3, 5), np.float32))
    objects = tmp_path / "objects.npy"
    np.save(objects, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    nan = tmp_path / "nan.npy"
    np.save(nan, np.full((2, 8), np.nan, np.float32))
    names = tmp_path / "names.npz"
    np.savez(names, a=np.ones((2, 8)), b=np.ones((2, 8)))
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"PK\x03\x04 not really a zip")
    return [
        (wrong, "do not fit the model's input"),
        (objects, "without pickle"),
        (nan, "NaN or infinity"),
        (names, "has no array 'x'"),
        (junk, "not a readable"),
        (tmp_path / "absent.npy", "not found"),
    ]


def test_unusable_samples_name_the_key_and_the_file(models, tmp_path):
    for path, match in _bad_samples(tmp_path):
        with pytest.raises(InputError, match=match) as e:
            target(path).analyze(models["small"])
        assert str(e.value).startswith(KEY) and path.name in str(e.value), path


def test_settings_are_validated():
    with pytest.raises(ValueError, match="min_delegated"):
        GpuSettings(min_delegated=95.0)
    with pytest.raises(ValueError, match="fp16_overflow"):
        GpuSettings(fp16_overflow="fatal")  # type: ignore[arg-type]
    assert GpuSettings.parse({"timeout_s": 5}).timeout_s == 5.0
    for bad in (0, -1, float("nan"), "5", True):
        with pytest.raises(ValueError, match="gpu.timeout_s"):
            GpuSettings.parse({"timeout_s": bad})


def test_failed_analysis_is_broken_at_the_targets_level():
    [check] = target(level="warn").failed("worker died", WHERE)
    assert check.status is Status.WARN and check.message == "GPU delegate check failed: worker died"
    assert target().failed("x", WHERE)[0].status is Status.FAIL


def test_report_survives_pickling_for_the_worker(models):
    import pickle

    report = target().analyze(models["argmax"])
    assert pickle.loads(pickle.dumps(report)) == report
    assert isinstance(report, GpuReport)


def test_analysis_never_imports_tensorflow(models):
    code = (
        "import sys; from pathlib import Path; from edgegate.targets.gpu.target import GpuSettings, GpuTarget; "
        f"r = GpuTarget(GpuSettings()).analyze(Path({str(models['argmax'])!r})); "
        "assert 'tensorflow' not in sys.modules, 'tensorflow imported'; print(r.ops_delegated)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "2"


# --- a pull request's model and data: bounded, refused, never a hang -------------------------------

CHILD_LIMIT = 1 << 30  # the test's own RLIMIT_DATA: a version without the bounds fails, not the machine

_ANALYZE = """
import pickle, resource as r, sys
r.setrlimit(r.RLIMIT_DATA, (int(sys.argv[1]), r.RLIM_INFINITY))
from edgegate.errors import InputError
with open(sys.argv[2], "rb") as f:
    target, model = pickle.load(f)
try:
    answer = ("report", target.analyze(model))
except InputError as e:
    answer = ("refused", str(e))
with open(sys.argv[3], "wb") as f:
    pickle.dump(answer, f)
"""


def analyze_bounded(target: GpuTarget, model: Path, tmp_path: Path) -> GpuReport | str:
    """``target.analyze(model)`` in a process of its own under a 1 GiB ``RLIMIT_DATA`` and the
    test's time limit: the report, or the ``InputError``'s text."""
    import pickle

    job, answer = tmp_path / "job.pickle", tmp_path / "answer.pickle"
    job.write_bytes(pickle.dumps((target, model)))
    done = subprocess.run(
        [sys.executable, "-c", _ANALYZE, str(CHILD_LIMIT), str(job), str(answer)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0 and answer.is_file(), done.stderr[-2000:]
    kind, value = pickle.loads(answer.read_bytes())
    return value if kind == "report" else str(value)


def test_a_while_loop_that_never_ends_is_stopped_at_timeout_s(models, tmp_path):
    t = target(timeout_s=3, fp16_overflow="error")
    report = analyze_bounded(t, models["loop"], tmp_path)
    assert isinstance(report, GpuReport)
    assert report.samples_used == 0
    assert report.data_source.startswith("not observed: could not run: timed out after 3 s")
    fp16 = by_name(t.checks(report, None, WHERE))["gpu.fp16_overflow"]
    assert fp16.status is Status.WARN and "could not run: timed out after 3 s" in fp16.message
    assert report.fallbacks == (GpuFallback(0, "WHILE", "Not supported op WHILE"),)  # still reported


def test_a_model_declaring_a_2_gb_input_is_refused_before_anything_is_allocated(models, tmp_path):
    assert models["wide"].stat().st_size < 1024
    report = analyze_bounded(target(fp16_overflow="error"), models["wide"], tmp_path)
    assert isinstance(report, GpuReport)
    assert report.data_source == (
        "not observed: could not run: the model's inputs declare 2,000,000,000 bytes for one sample, "
        "over the 256 MiB the fp16 observation feeds; it was not run"
    )
    assert (report.ops_total, report.ops_delegated) == (1, 1)


def test_an_eval_npz_inflating_past_the_limit_is_refused_with_the_datasets_message(models, tmp_path):
    from edgegate.datasets import load_dataset
    from tests.security.test_hostile_inputs import npy_header, write_zip_bomb

    bomb = tmp_path / "bomb.npz"
    write_zip_bomb(bomb, "x.npy", npy_header(((2 << 30) // 32, 8)), 2 << 30)  # 2 MB on disk, 2 GiB inflated
    with pytest.raises(InputError) as datasets_says:
        load_dataset(parse_dataset("bomb.npz", key=KEY), tmp_path, key=KEY)
    assert "inflates to" in str(datasets_says.value)
    refused = analyze_bounded(target(bomb), models["small"], tmp_path)
    assert refused == str(datasets_says.value)


def test_x_key_chooses_the_samples_observed(models, tmp_path):
    two = tmp_path / "two.npz"
    np.savez(two, a=np.ones((2, 8), np.float32), b=np.full((2, 8), 20000.0, np.float32))
    second = target(two, x_key="b").analyze(models["small"])
    assert [r.max_abs for r in second.fp16_overflows] == [pytest.approx(80000.0)]  # 20,000 x 8 x 0.5
    assert second.data_source == f"2 of 2 samples from {KEY} (two.npz), array 'b'"
    first = target(two, x_key="a").analyze(models["small"])
    assert first.fp16_overflows == () and first.data_source.endswith("array 'a'")


def test_eval_data_symlinked_out_of_the_repository_is_refused(models, tmp_path):
    from edgegate.datasets import load_dataset

    outside, repo = tmp_path / "outside.npy", tmp_path / "repo"
    np.save(outside, np.full((2, 8), 20000.0, np.float32))
    repo.mkdir()
    (repo / "eval.npy").symlink_to(outside)
    with pytest.raises(InputError) as datasets_says:
        load_dataset(parse_dataset("eval.npy", key=KEY), repo, key=KEY)
    with pytest.raises(InputError) as e:
        target(repo / "eval.npy").analyze(models["small"])
    assert str(e.value) == str(datasets_says.value)
    assert "'eval.npy' resolves outside the repository" in str(e.value)


def test_a_hook_dataset_is_not_run_and_the_report_says_so(models, tmp_path):
    data = parse_dataset({"hook": "evalhook:load"}, key=KEY)
    report = GpuTarget.observing(GpuSettings(), data, tmp_path).analyze(models["small"])
    assert report.data_source == (
        f"8 random inputs (±1 for float inputs; {KEY} is a hook, which the GPU target does not run)"
    )
