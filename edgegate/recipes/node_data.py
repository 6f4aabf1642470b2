"""Per-layer quantization noise as a Model Explorer node-data file (parent-side, pure).

Model Explorer (github.com/google-ai-edge/model-explorer) overlays "custom node data" on a
graph: a JSON object ``{"results": {key: {"value": number}}, "gradient": [{"stop": 0..1,
"bgColor": css color}, ...]}`` (its ``GraphNodeData``), where a key is a node id or one of a
node's output tensor names. The file is written directly (no dependency on the explorer's
package); keys are output tensor names, so the same file fits the float and the quantized
model. Values are the SNR in dB of each op's output (float vs quantized): low is bad, so the
gradient runs from red (the lowest value) to green (the highest).

To open it: ``pip install ai-edge-model-explorer``, ``model-explorer MODEL.tflite``, then
"Custom node data" → upload ``NAME.node_data.json`` (the report says which file, beside which
model).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from edgegate.recipes.litert_quantize import LayerNoise
from edgegate.repo_paths import safe_name

GRADIENT = (
    {"stop": 0, "bgColor": "#d7191c"},
    {"stop": 0.5, "bgColor": "#fdae61"},
    {"stop": 1, "bgColor": "#1a9641"},
)
SUFFIX = ".node_data.json"
HOW_TO_OPEN = (
    "open it in Model Explorer (pip install ai-edge-model-explorer; model-explorer MODEL.tflite; "
    "Custom node data → upload the file): each op coloured by its output's SNR in dB, red = lowest"
)


def node_data(layers: Sequence[LayerNoise]) -> str:
    """The node-data JSON of one candidate's per-layer noise."""
    results = {layer.tensor: {"value": layer.snr_db} for layer in layers}
    return json.dumps({"results": results, "gradient": list(GRADIENT)}, indent=1, sort_keys=True)


def write_node_data(folder: Path, candidate: str, layers: Sequence[LayerNoise]) -> Path:
    """Write ``<candidate>.node_data.json`` into ``folder`` (a safe file name for any label)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{safe_name(candidate)}{SUFFIX}"
    path.write_text(node_data(layers), encoding="utf-8")
    return path
