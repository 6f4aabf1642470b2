"""One-line fixes for each Edge TPU rule, shown beside the first op that blocks mapping.

Each hint says what to change in the model or its conversion, in the words of the layer or
converter option a user controls (Keras layer, ``TFLiteConverter`` setting, EdgeGate recipe).
"""

from __future__ import annotations

_HINTS = {
    # whole-model
    "not-quantized-float32": (
        "convert with full-integer quantization (EdgeGate recipe int8: a representative dataset and "
        "supported_ops=[TFLITE_BUILTINS_INT8]; for a float .tflite, recipes: [int8] with calibration "
        "data runs the LiteRT Quantizer, docs/quantizer.md)."
    ),
    "not-quantized-float16": "float16 weights are not 8-bit: use the int8 recipe instead of float16.",
    "not-quantized-dynamic": (
        "dynamic-range quantization keeps activations in float: give a representative dataset "
        "(recipe int8) so every tensor is int8."
    ),
    "not-quantized-int16x8": "16x8 quantization uses int16 activations: use the int8 recipe.",
    "dynamic-batch": (
        "tensor '{tensor}' has a dynamic batch: export with batch 1 (keras.Input(batch_size=1) or a "
        "concrete function with a fixed TensorSpec)."
    ),
    "dynamic-shape": (
        "tensor '{tensor}' has a dynamic size: give the model a fixed input shape before converting."
    ),
    # data types
    "float-input": (
        "float input '{tensor}' is quantized on the CPU: convert with int8 or uint8 input "
        "(recipe int8 io: int8 / inference_input_type)."
    ),
    "float-output": (
        "float output is dequantized on the CPU: convert with int8 or uint8 output "
        "(recipe int8 io: int8 / inference_output_type)."
    ),
    "float-island": (
        "the ops around '{tensor}' were left in float (no int8 kernel in the quantizer): convert with "
        "supported_ops=[TFLITE_BUILTINS_INT8] to name them, and replace them."
    ),
    "float-op": (
        "{op} was left in float: convert with supported_ops=[TFLITE_BUILTINS_INT8] (fails instead of "
        "falling back) and replace the op the int8 quantizer cannot handle."
    ),
    "int16": "{op} computes in int16 (16x8 quantization): use int8 quantization.",
    "int-op": "{op} computes on {dtype} tensors: move this integer/index math out of the model or after it.",
    "int8-runtime": "int8 (signed) tensors map from runtime 12: set edgetpu.runtime to 12 or more.",
    # support
    "unsupported-op": (
        "{op} has no Edge TPU kernel: replace the layer that produces it, or move it to the end of the "
        "model so only it runs on the CPU."
    ),
    "custom-op": (
        "custom op '{code}' runs on the CPU: keep it at the end of the model (like SSD post-processing)."
    ),
    "runtime": (
        "{op} maps from Edge TPU runtime {runtime}: set edgetpu.runtime: {runtime} (edgetpu_compiler -m "
        "{runtime}) if your devices run it, or replace the op."
    ),
    "op-version-mapped": (
        "{op} v{version} is not mapped (v5+ means keep_num_dims, no bias or int16): flatten before the "
        "Dense layer and keep its bias."
    ),
    "not-constant": (
        "input '{tensor}' of {op} must be a constant: make weights, shapes and axes fixed at conversion "
        "(no tensor-dependent shapes or weights)."
    ),
    "batch": "batch dimension {batch}: export with batch 1.",
    "rank": "tensor {shape} has more than 3 non-1 dimensions: reshape so only the 3 innermost exceed 1.",
    # op limitations
    "fused-activation": (
        "the converter fused {act} into {op}: apply the activation before the {op} layer "
        "(or to each input of a concatenation)."
    ),
    "dilation-mismatch": "use the same dilation rate in y and x.",
    "concat-constant": (
        "concatenate with a constant only as a zero-padding of 2 inputs: use PAD or compute the "
        "constant branch as a layer."
    ),
    "fc-format": "convert without shuffled (4x16) fully-connected weights.",
    "fc-output": "Dense on a rank-3 input keeps dims: flatten (or reshape to 1-D) before the Dense layer.",
    "batch-axis": "{op} must not work along the batch axis: use an axis among the 3 innermost dimensions.",
    "mean-z": "a mean over channels needs a channel count that is a multiple of 4.",
    "prelu-alpha": "use keras PReLU(shared_axes=[1, 2]) so alpha is 1-dimensional.",
    "softmax": "apply softmax to a 1-D vector of at most 16,000 values (flatten first, or fewer classes).",
    "strided-slice": "slice with stride 1 (use a strided convolution or pooling to subsample).",
    "strided-slice-mask": "slice without ellipsis (...) or tf.newaxis: index every axis explicitly.",
    "resize-half-pixel": (
        "resize with half_pixel_centers=False (tf.compat.v1.image.resize_*(align_corners=False) or "
        "tf.raw_ops.Resize*(half_pixel_centers=False)); confirm with edgetpu_compiler."
    ),
    "resize-size": "confirm with edgetpu_compiler; smaller resize inputs/outputs are more likely to map.",
    "resize-factor": (
        "a {factor}x resize likely runs on the CPU, and so does every op that depends on it: resize in "
        "smaller steps, or make it the model's last op; confirm with edgetpu_compiler."
    ),
    "unlisted-op": (
        "{op} is not in Coral's supported-operation table, though compiled models show some unlisted ops "
        "mapped: confirm with edgetpu_compiler, or replace it with a listed op."
    ),
    "cast-input": (
        "input '{tensor}' is cast to float and quantized again on the CPU: feed the model int8/uint8 "
        "directly (drop the cast, recipe int8 io) so the first op is mapped."
    ),
    "reshape-large": (
        "confirm with edgetpu_compiler; reshape smaller tensors, or keep the innermost dimension."
    ),
    "transpose": "confirm with edgetpu_compiler; avoid transposes that move the innermost axis.",
}

# Known causes of op versions no edgetpu_compiler reads, and the change that avoids them.
_VERSION_CAUSES = {
    ("CONV_2D", 6): ("a grouped convolution (Conv2D groups > 1)", "use groups=1, or a DepthwiseConv2D"),
    ("CONV_2D", 7): ("int4 weights", "quantize weights to int8"),
    ("CONV_2D", 8): ("a quantized bias type", "convert without a custom bias type"),
    ("QUANTIZE", 3): (
        "a per-channel QUANTIZE",
        "convert with per-tensor quantization (recipe int8 per_channel: false)",
    ),
    ("TRANSPOSE_CONV", 4): (
        "a fused activation in Conv2DTranspose",
        "apply the activation after a non-fusable op",
    ),
    ("EXP", 2): ("an int8 EXP", "remove the exp from the model (compute it on the CPU after the model)"),
    ("RSQRT", 2): ("an int8 RSQRT", "install edgetpu_compiler 16"),
    ("FULLY_CONNECTED", 12): ("dynamic-range (hybrid) quantization", "convert with full int8 quantization"),
}

_COMPILER_16_TFLITE = "2.6.0"


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def hint(rule: str, **values: object) -> str:
    return _HINTS[rule].format(**values)


def version_hint(op: str, version: int, introduced: str | None, compiler_version: int) -> str:
    """Why an op version is too new for the compiler, and what to change."""
    cause, fix = _VERSION_CAUSES.get((op, version), (None, "change the layer that produces it"))
    what = f"{cause} ({op} v{version})" if cause else f"{op} v{version}"
    born = f"TFLite {introduced}" if introduced else "a TFLite newer than any edgetpu_compiler"
    if (
        compiler_version < 16
        and introduced is not None
        and _release(introduced) <= _release(_COMPILER_16_TFLITE)
    ):
        return f"{what} needs compiler 16 ({born}): install edgetpu_compiler 16 (compiler_version: 16)."
    return f"{what} comes from {born}, newer than every edgetpu_compiler: {fix}."


# Generic fixes by the compiler's status string, for ops the real compiler reported.
_STATUS_HINTS = {
    "Operation is working on an unsupported data type": (
        "make every tensor of the op int8/uint8 (full-integer quantization with int8 or uint8 io)."
    ),
    "Operation not supported": (
        "replace the op, or move it to the end of the model so only it runs on the CPU."
    ),
    "Operation version not supported": (
        "change the layer options that raise the op's version (see docs/edgetpu.md)."
    ),
    "Tensor has unsupported rank (up to 3 innermost dimensions mapped)": (
        "only the 3 innermost dimensions may exceed 1: export with batch 1."
    ),
    "Filter, bias, or other param is not constant at compile-time": (
        "make weights, shapes and axes constant at conversion."
    ),
    "Operation is otherwise supported, but not mapped due to some unspecified limitation": (
        "check the op's limitations in docs/edgetpu.md (sizes, fused activations, axes)."
    ),
}

# Fixes for whole-run failures, by a phrase of the compiler's message.
_FAILURE_HINTS = (
    ("Model not quantized", _HINTS["not-quantized-float32"]),
    ("dynamic-sized tensors", "the model has dynamic shapes: export with a fixed input shape and batch 1."),
    (
        "large activation tensors",
        "activations are too large for the Edge TPU: lower the input resolution or "
        "split the model (edgetpu_compiler -i / -n).",
    ),
    (
        "Internal compiler error",
        "the compiler crashed on this model: simplify the ops around the failure, or try another -m runtime.",
    ),
    ("timed out", "raise edgetpu.timeout_s, or simplify the model."),
)


def status_hint(status: str) -> str | None:
    return _STATUS_HINTS.get(status)


def failure_hint(message: str) -> str | None:
    return next((fix for phrase, fix in _FAILURE_HINTS if phrase in message), None)
