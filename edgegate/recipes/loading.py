"""Opening source models safely, in worker processes.

PR content is untrusted: a Keras file can carry Python (``Lambda`` layers hold marshalled
bytecode; Keras 3 configs can name any module to import). Before anything is deserialized
we read the model's config as plain JSON and refuse those unless the policy sets
``trust_code: true`` for the model. SavedModels are graphs, not Python, and load as such.
"""

from __future__ import annotations

import functools
import json
import zipfile
from typing import Any

from edgegate.errors import InputError
from edgegate.exception_text import first_line
from edgegate.file_digest import file_sha256
from edgegate.recipes.interface import SourceModel
from edgegate.recipes.keras_config_scan import check_keras_config, check_keras_file, walk_dicts
from edgegate.recipes.savedmodel_scan import check_saved_model

# Layers that store an op name rather than code (tf-keras wraps tf.* calls in these).
_SAFE_OP_LAYERS = {"TFOpLambda", "SlicingOpLambda"}
_CODE_LAYERS = {"Lambda"}


def read_keras_config(source: SourceModel) -> dict | None:
    """The model's architecture config as JSON, without deserializing any layer."""
    check_keras_file(source)  # weights kept in other files (HDF5 external storage, links)
    try:
        if source.kind == "keras":
            with zipfile.ZipFile(source.path) as z:
                return json.loads(z.read("config.json"))
        if source.kind == "h5":
            import h5py

            with h5py.File(source.path, "r") as f:
                raw = f.attrs.get("model_config")
                if raw is None:
                    raise InputError(
                        f"{source.display}: this .h5 file holds weights only (no model_config); "
                        "save the whole model with model.save(...)"
                    )
                return json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    except InputError:
        raise
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
        raise InputError(
            f"{source.display}: not a readable {source.kind} model file ({e}); "
            "check that the file is complete (not an LFS pointer or a partial upload)"
        ) from None
    return None


def keras_version(source: SourceModel) -> int:
    """Major Keras version that wrote a ``.keras`` or ``.h5`` file (2 = tf-keras, 3 = Keras 3)."""
    if source.kind == "h5":
        import h5py

        try:
            with h5py.File(source.path, "r") as f:
                raw = f.attrs.get("keras_version", b"2")
        except OSError:
            return 2  # read_keras_config reports the unreadable file
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        major = text.split(".")[0]
        return int(major) if major.isdigit() else 2
    if source.kind != "keras":
        return 2
    try:
        with zipfile.ZipFile(source.path) as z:
            meta = json.loads(z.read("metadata.json"))
        return int(str(meta.get("keras_version", "3")).split(".")[0])
    except (KeyError, ValueError, zipfile.BadZipFile):
        return 3


def check_config_safety(config: dict | None, source: SourceModel) -> None:
    """Raise ``InputError`` if loading this config would run code, unless the model is trusted."""
    check_keras_config(config, source)  # layers reading files named in their config
    if config is None or source.trust_code:
        return
    problems: list[str] = []
    for node in walk_dicts(config):
        cls = node.get("class_name")
        if not isinstance(cls, str):
            continue
        name = (node.get("config") or {}).get("name", "?") if isinstance(node.get("config"), dict) else "?"
        module = node.get("module")
        registered = node.get("registered_name")
        if cls in _CODE_LAYERS or cls == "__lambda__":
            problems.append(f"Lambda layer {name!r}")
        elif cls in _SAFE_OP_LAYERS:
            continue
        elif isinstance(module, str) and not (
            module == "builtins" or module.split(".")[0] in ("keras", "tf_keras")
        ):
            problems.append(f"custom object {cls!r} from module {module!r}")
        elif isinstance(registered, str) and ">" in registered:
            problems.append(f"custom object {registered!r}")
    if problems:
        listed = ", ".join(sorted(set(problems))[:5])
        raise InputError(
            f"{source.display}: refusing to load {listed}: loading it would run code from the repository. "
            "Use built-in layers, or set `trust_code: true` for this model in the policy if you trust "
            "this repository's code (never for untrusted pull requests)."
        )


def load_keras_model(source: SourceModel) -> Any:
    """Load a ``.keras``/``.h5`` model for conversion with the Keras that wrote it.

    A Keras 3 file (``.keras``, or ``.h5`` written by Keras 3) loads with Keras 3, even in a
    worker where ``TF_USE_LEGACY_KERAS=1``: that flag switches only ``tf.keras``; ``import
    keras`` is Keras 3 regardless. tf-keras files (``.h5``, ``.keras`` by tf-keras) load with tf-keras.
    """
    check_config_safety(read_keras_config(source), source)
    return _load_checked_keras_model(source)


def _load_checked_keras_model(source: SourceModel) -> Any:
    """The load itself, once ``check_config_safety`` passed."""
    safe = not source.trust_code
    try:
        if keras_version(source) >= 3:
            import keras

            return keras.models.load_model(source.path, compile=False, safe_mode=safe)
        import tf_keras

        if source.kind == "keras":
            return tf_keras.models.load_model(source.path, compile=False, safe_mode=safe)
        return tf_keras.models.load_model(source.path, compile=False)
    except InputError:
        raise
    except Exception as e:  # Keras raises many types for corrupt or unknown content
        raise InputError(f"{source.display}: Keras could not load this model: {first_line(e)}") from None


def load_keras_model_for_conversion(source: SourceModel) -> Any:
    """``load_keras_model``, once per worker for the same file content.

    Each plain conversion is its own job, so one worker serves several recipes of a model
    (MobileNetV2 takes 3 s to load). Converting reads the model and never changes it; training
    loads its own copy, since tfmot wraps the layers it is given.
    """
    check_config_safety(read_keras_config(source), source)  # every time: it is what trust means
    return _load_keras_model_with_content(source, file_sha256(source.path))


@functools.lru_cache(maxsize=2)
def _load_keras_model_with_content(source: SourceModel, sha256: str) -> Any:
    return _load_checked_keras_model(source)


def open_saved_model(source: SourceModel) -> tuple[Any, str]:
    """The loaded SavedModel and its serving signature key; ``InputError`` when it has none."""
    check_saved_model(source)  # before TensorFlow runs any of its initializers
    import tensorflow as tf

    try:
        loaded = tf.saved_model.load(str(source.path))
    except Exception as e:
        raise InputError(f"{source.display}: not a loadable SavedModel: {first_line(e)}") from None
    keys = list(getattr(loaded, "signatures", {}).keys())
    if "serving_default" in keys:
        return loaded, "serving_default"
    if len(keys) == 1:
        return loaded, keys[0]
    raise InputError(
        f"{source.display}: SavedModel has {'no' if not keys else 'several'} serving signatures"
        f"{' (' + ', '.join(keys) + ')' if keys else ''}; export it with a 'serving_default' signature, "
        "e.g. tf.saved_model.save(obj, path, signatures={'serving_default': fn.get_concrete_function(spec)})"
    )


def saved_model_signature(source: SourceModel) -> str:
    """The serving signature key of a SavedModel; ``InputError`` when it has none."""
    return open_saved_model(source)[1]
