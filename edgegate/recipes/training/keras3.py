"""Rebuilding a Keras 3 model in tf-keras, so tfmot (which wraps only tf-keras layers) can train it.

Keras 3 writes a different config dialect: dtype policies and initializers as
``{"module", "class_name", "config"}`` objects, ``batch_shape`` on inputs, call arguments as
``{"args", "kwargs"}`` with ``__keras_tensor__`` references. ``tf_keras_config`` translates a
Sequential or Functional config into tf-keras's; ``rebuild`` builds the model from it, copies
the weights layer by layer from the Keras 3 model, and refuses the result unless both models
give the same outputs on random input. Options that tf-keras lacks are dropped only when
unset; a set one (``lora_rank: 4``) stops the rebuild with its name.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from edgegate.exception_text import first_line

# Keyword arguments every tf-keras layer accepts besides its own constructor's.
_BASE_LAYER_KWARGS = {
    "name",
    "trainable",
    "dtype",
    "input_shape",
    "batch_input_shape",
    "batch_size",
    "weights",
    "activity_regularizer",
    "autocast",
    "input_dim",
    "dynamic",
}
_MODEL_CLASSES = ("Sequential", "Functional", "Model")
_UNSET: tuple[object, ...] = (None, False, 0, "", [], {})  # option values that mean "not used"
_OBJECT_MODULES = {
    "keras.initializers": "initializers",
    "keras.regularizers": "regularizers",
    "keras.constraints": "constraints",
}


class RebuildError(Exception):
    """The model uses something with no tf-keras equivalent; the message says what."""


def tf_keras_config(class_name: str, config: dict) -> dict:
    """The tf-keras ``{"class_name", "config"}`` of a Keras 3 Sequential/Functional config."""
    if class_name == "Sequential":
        layers = [_layer(entry, functional=False) for entry in config["layers"]]
        return {"class_name": "Sequential", "config": {"name": config.get("name"), "layers": layers}}
    if class_name in ("Functional", "Model") and "layers" in config:
        layers = [_layer(entry, functional=True) for entry in config["layers"]]
        # tf-keras numbers a nested model's calls from 1 (its own construction is node 0);
        # Keras 3 from 0.
        shifted = {entry["name"] for entry in layers if _skips_first_node(entry)}
        for entry in layers:
            for node in entry["inbound_nodes"]:
                for ref in node:
                    ref[1] += ref[0] in shifted
        ends = {key: _endpoints(config[key]) for key in ("input_layers", "output_layers")}
        for ref in ends["output_layers"]:
            ref[1] += ref[0] in shifted
        _check_references(layers, ends["output_layers"], shifted)
        return {
            "class_name": "Functional",
            "config": {
                "name": config.get("name"),
                "trainable": config.get("trainable", True),
                "layers": layers,
                **ends,
            },
        }
    raise RebuildError(f"a {class_name} model (only Sequential and Functional models can be rebuilt)")


def _check_references(layers: list[dict], outputs: list[list], shifted: set[str]) -> None:
    """Every tensor reference names an existing call (tf-keras loops forever on a dangling one)."""
    calls = {
        e["name"]: 1 if e["class_name"] == "InputLayer" else len(e["inbound_nodes"]) + (e["name"] in shifted)
        for e in layers
    }
    refs = [ref for e in layers for node in e["inbound_nodes"] for ref in node] + outputs
    for ref in refs:
        if ref[0] not in calls or not 0 <= ref[1] < calls[ref[0]]:
            raise RebuildError(
                f"the config refers to call {ref[1]} of layer {ref[0]!r}, which it does not hold"
            )


def _skips_first_node(entry: dict) -> bool:
    if entry["class_name"] == "Functional":
        return True
    if entry["class_name"] != "Sequential":
        return False
    layers = entry["config"].get("layers")
    return bool(layers) and layers[0]["class_name"] == "InputLayer"


def _layer(entry: dict, *, functional: bool) -> dict:
    class_name = entry["class_name"]
    layer_name = entry.get("name") or entry["config"].get("name")
    if class_name in _MODEL_CLASSES:
        out = tf_keras_config(class_name, entry["config"])
    else:
        import tf_keras

        module = entry.get("module") or "keras.layers"
        cls = getattr(tf_keras.layers, class_name, None)
        if not module.startswith("keras") or cls is None:
            raise RebuildError(f"layer {layer_name!r} ({class_name}) has no tf-keras equivalent")
        out = {"class_name": class_name, "config": _layer_config(cls, entry["config"], layer_name)}
    if functional:
        out["name"] = layer_name
        out["inbound_nodes"] = [_node(node, layer_name) for node in entry.get("inbound_nodes", [])]
    return out


def _layer_config(cls, config: dict, layer_name: str) -> dict:
    if cls.__name__ == "InputLayer":
        shape = config.get("batch_shape") or [None, *config["shape"]]
        return {
            "batch_input_shape": list(shape),
            "dtype": _value(config.get("dtype")),
            "sparse": bool(config.get("sparse")),
            "ragged": bool(config.get("ragged")),
            "name": config["name"],
        }
    accepted = _init_parameters(cls) | _BASE_LAYER_KWARGS
    out = {}
    for key, value in config.items():
        if key in accepted:
            out[key] = _value(value)
        elif value not in _UNSET:
            raise RebuildError(
                f"layer {layer_name!r} sets {key}={value!r}, which tf-keras's {cls.__name__} lacks"
            )
    return out


def _init_parameters(cls) -> set[str]:
    """Constructor arguments of a class and of the bases its ``**kwargs`` reach."""
    names: set[str] = set()
    for base in cls.__mro__:
        if "__init__" in vars(base):
            names |= set(inspect.signature(base.__init__).parameters)
    return names - {"self", "args", "kwargs"}


def _value(value: Any) -> Any:
    if isinstance(value, list):
        return [_value(v) for v in value]
    if not isinstance(value, dict):
        return value
    class_name = value.get("class_name")
    if class_name in ("DTypePolicy", "FloatDTypePolicy", "Policy"):
        return value["config"]["name"]
    if class_name == "__tuple__":
        return [_value(v) for v in value["config"]["value"]]
    if "module" in value and class_name is not None:
        return _object(value)
    return {k: _value(v) for k, v in value.items()}


def _object(value: dict) -> Any:
    """An initializer / regularizer / constraint / activation in tf-keras's legacy form."""
    import tf_keras

    module, class_name, config = value["module"], value["class_name"], value.get("config")
    if module == "keras.activations" or class_name == "function":
        return config  # the activation's name
    family = _OBJECT_MODULES.get(module)
    cls = getattr(getattr(tf_keras, family), class_name, None) if family else None
    if cls is None:
        raise RebuildError(f"{module}.{class_name} has no tf-keras equivalent")
    accepted = _init_parameters(cls)
    kept = {k: _value(v) for k, v in (config or {}).items() if k in accepted}
    dropped = [k for k, v in (config or {}).items() if k not in accepted and v not in _UNSET]
    if dropped:
        raise RebuildError(f"{class_name} sets {', '.join(dropped)}, which tf-keras lacks")
    return {"class_name": class_name, "config": kept}


def _flatten(value):
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from _flatten(v)
    elif isinstance(value, dict) and value.get("class_name") == "__tuple__":
        yield from _flatten(value["config"]["value"])
    else:
        yield value


def _is_tensor(value) -> bool:
    return isinstance(value, dict) and value.get("class_name") == "__keras_tensor__"


def _node(node: dict, layer_name: str) -> list:
    """Keras 3 ``{"args", "kwargs"}`` call → tf-keras ``[[layer, node, tensor, kwargs], ...]``."""
    args = list(_flatten(node.get("args", [])))
    kwargs = {k: v for k, v in (node.get("kwargs") or {}).items() if v is not None}
    tensor_kwargs = any(_is_tensor(v) for v in _flatten(list(kwargs.values())))
    if not args or not all(_is_tensor(a) for a in args) or tensor_kwargs:
        raise RebuildError(f"layer {layer_name!r} is called with arguments other than tensors")
    return [[*a["config"]["keras_history"], kwargs] for a in args]


def _endpoints(value) -> list:
    if isinstance(value, dict):
        value = list(value.values())
    if len(value) == 3 and isinstance(value[0], str):
        return [list(value)]
    return [list(v) for v in value]


def _copy_weights(source, target) -> None:
    import tf_keras

    for layer in target.layers:
        if not layer.weights:
            continue
        original = source.get_layer(layer.name)
        if isinstance(layer, tf_keras.Model):
            _copy_weights(original, layer)
            continue
        weights = original.get_weights()
        shapes = [tuple(w.shape) for w in layer.weights]
        if [tuple(w.shape) for w in weights] != shapes:
            raise RebuildError(
                f"layer {layer.name!r} holds weights of shapes "
                f"{[tuple(w.shape) for w in weights]} in Keras 3 but {shapes} in tf-keras"
            )
        layer.set_weights(weights)


def _probe_inputs(model, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    probes = []
    for t in model.inputs:
        shape = [2] + [d if d is not None else 32 for d in t.shape[1:]]
        probes.append(rng.standard_normal(shape).astype(np.float32))
    return probes


def output_difference(keras3_model, tf_keras_model) -> float:
    """Largest absolute output difference on random inputs, relative to the output scale."""
    x = _probe_inputs(tf_keras_model)
    feed = x if len(x) > 1 else x[0]
    expected = [np.asarray(o) for o in _as_list(keras3_model(feed, training=False))]
    got = [np.asarray(o) for o in _as_list(tf_keras_model(feed, training=False))]
    if len(expected) != len(got) or any(a.shape != b.shape for a, b in zip(expected, got)):
        return float("inf")
    scale = max(1.0, max(float(np.max(np.abs(a))) for a in expected))
    return max(float(np.max(np.abs(a - b))) for a, b in zip(expected, got)) / scale


def _as_list(outputs) -> list:
    if isinstance(outputs, dict):
        return [outputs[k] for k in sorted(outputs)]
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


TOLERANCE = 1e-4  # relative to the largest output value; float32 kernels agree far closer


def rebuild(keras3_model):
    """A tf-keras copy of a loaded Keras 3 model, verified to compute the same outputs."""
    import tf_keras

    class_name = type(keras3_model).__name__
    config = tf_keras_config(class_name, keras3_model.get_config())
    try:
        model = tf_keras.models.model_from_config(config)
    except Exception as e:  # tf-keras rejects a translated option: say which
        raise RebuildError(f"tf-keras could not build the translated config: {first_line(e)}") from None
    _copy_weights(keras3_model, model)
    diff = output_difference(keras3_model, model)
    if not diff <= TOLERANCE:
        raise RebuildError(
            f"the rebuilt model's outputs differ from the original's by {diff:.3g} "
            f"(relative; at most {TOLERANCE:g} allowed)"
        )
    return model
