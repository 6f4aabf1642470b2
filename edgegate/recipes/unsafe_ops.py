"""The TensorFlow ops a pull request's SavedModel may not hold, derived from TensorFlow itself.

``unsafe_ops.json`` beside this module is what the SavedModel scan reads; it is generated, not
written by hand, so a TensorFlow upgrade cannot silently add an op that touches files:

    python -m edgegate.recipes.unsafe_ops > edgegate/recipes/unsafe_ops.json

(``tests/security/test_unsafe_ops.py`` re-derives it with the installed TensorFlow and fails
when the checked-in file differs.) How the set is derived, from the op registry
(``TF_GetAllOpList``: every registered ``OpDef``) and the module each op's Python wrapper
lives in (``tf.raw_ops.<Op>.__module__``):

1. every op of the file-system modules (``gen_io_ops``: ReadFile, WriteFile, MatchingFiles,
   readers, Save/Restore; ``gen_filesystem_ops``; ``gen_summary_ops``: event-file writers) does
   file I/O; every op of ``gen_script_ops`` (PyFunc, PyFuncStateless, EagerPyFunc) runs Python;
2. any other op whose ``OpDef`` has an input named for a file or folder (``FILE_ARGS``:
   TFRecordDataset's ``filenames``, InitializeTableFromTextFileV2's ``filename``, ...) does file
   I/O, and one with an input naming a network peer (``NET_ARGS``) does network I/O;
3. an op with an *attribute* naming a file (PrintV2's ``output_stream``, DebugIdentity's
   ``debug_urls``, ImmutableConst's ``memory_region_name``) is unsafe unless a node leaves that
   attribute at the ``OpDef``'s default (which never names a file); the default is recorded.

4. for tf-keras ``TFOpLambda`` layers, whose config names a TensorFlow API function that tf-keras
   looks up in TensorFlow's export registry (``tf_export._NAME_TO_SYMBOL_MAPPING``) and calls in
   the model: every API name whose symbol is an unsafe op's wrapper (``tf.raw_ops.<Op>`` and
   the generated function it wraps, ``tf.io.write_file``), or is defined in a module of rule 1,
   its Python counterpart (``io_ops``, ``script_ops``: ``tf.py_function``, ``tf.numpy_function``;
   ``summary_ops_v2``) or TensorFlow's Python file access (``lib.io``, ``platform.gfile``).

The argument names and module names are the hand-written part: short lists of words, reviewed
against the registry's output, instead of a list of ops. Finally the ops TensorFlow's own savers use
(``saver``) are found by saving a real TF2 and a real TF1 SavedModel with a variable and reading
back which unsafe ops their ``saver_def`` save and restore subgraphs hold: only those, and only
there, are allowed (the loader restores variables with them).

Worker-side: importing TensorFlow is fine here. ``load()`` reads the JSON only.
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

DATA_FILE = "unsafe_ops.json"
GENERATED_BY = "python -m edgegate.recipes.unsafe_ops > edgegate/recipes/unsafe_ops.json"

FILE_IO = "file I/O"
NETWORK_IO = "network I/O"
RUNS_PYTHON = "runs Python"

_MODULES = {
    "tensorflow.python.ops.gen_io_ops": FILE_IO,
    "tensorflow.python.ops.gen_filesystem_ops": FILE_IO,
    "tensorflow.python.ops.gen_summary_ops": FILE_IO,
    "tensorflow.python.ops.gen_script_ops": RUNS_PYTHON,
}
# Input or attribute names that name a file, a folder or a file pattern. Not "pattern": the
# regex ops use it (MatchingFiles is caught by its module); not "tensor_name": Send/Recv.
FILE_ARGS = frozenset(
    {
        "filename", "filenames", "file_pattern", "patterns", "prefix", "path", "logdir", "directory",
        "ckpt_path", "checkpoint_prefixes", "destination_prefix", "new_vocab_file", "old_vocab_file",
        "vocab_file", "memory_region_name", "descriptor_source", "output_stream", "debug_urls",
        "db_uri", "data_source_name", "shard_dir", "chunk_file", "snapshot_path", "log_dir_path",
        "file_name", "output_file_path", "reader_prefix", "writer_prefix", "reader_path_prefix",
        "writer_path_prefix",
    }
)  # fmt: skip
NET_ARGS = frozenset({"address", "server_address", "protocol", "target_workers"})
# Rule 4: Python modules whose API functions do what their ops do, and Python file access.
_FUNCTION_MODULES = {
    "tensorflow.python.ops.io_ops": FILE_IO,
    "tensorflow.python.ops.script_ops": RUNS_PYTHON,
    "tensorflow.python.ops.summary_ops_v2": FILE_IO,
    "tensorflow.python.lib.io.": FILE_IO,
    "tensorflow.python.platform.gfile": FILE_IO,
}


@dataclass(frozen=True)
class UnsafeOp:
    name: str
    does: str  # FILE_IO | NETWORK_IO | RUNS_PYTHON
    why: str  # how the derivation found it, for people reading the JSON
    # Attributes that make the op unsafe only when set away from their default; empty: the op is
    # always unsafe. A default of None: the attribute has none, so the op is always unsafe.
    unless_default: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class UnsafeOps:
    tensorflow: str  # the version the set was derived from
    ops: dict[str, UnsafeOp]
    save_ops: frozenset[str]  # allowed in the saver_def's save subgraph (never run by a loader)
    restore_ops: frozenset[str]  # allowed in the saver_def's restore subgraph (the loader runs it)
    functions: dict[str, str]  # TensorFlow API name ("io.read_file") → what calling it does


def load() -> UnsafeOps:
    """The checked-in set (``unsafe_ops.json``)."""
    return _from_json(_data_text())


@cache
def _data_text() -> str:
    return resources.files("edgegate.recipes").joinpath(DATA_FILE).read_text(encoding="utf-8")


@cache
def _from_json(text: str) -> UnsafeOps:
    data = json.loads(text)
    ops = {
        name: UnsafeOp(
            name,
            entry["does"],
            entry["why"],
            tuple((k, v) for k, v in entry.get("unless_default", {}).items()),
        )
        for name, entry in data["ops"].items()
    }
    return UnsafeOps(
        data["tensorflow"],
        ops,
        frozenset(data["saver"]["save"]),
        frozenset(data["saver"]["restore"]),
        dict(data["functions"]),
    )


# --- derivation (imports TensorFlow) -------------------------------------------------------


def _attr_default(attr) -> Any:
    """An ``OpDef.AttrDef``'s default as JSON (a string or a list of strings), None when it has none."""
    if not attr.HasField("default_value"):
        return None
    return attr_value(attr.default_value)


def attr_value(value) -> Any:
    """An ``AttrValue`` as JSON when it is a string or a list of strings (file names are), else None.

    The derivation reads op defaults with it and the scan reads a node's attributes, so the two
    compare the same form."""
    kind = value.WhichOneof("value")
    if kind == "s":
        return value.s.decode("utf-8", "replace")
    if kind == "list":
        return [s.decode("utf-8", "replace") for s in value.list.s]
    return None


def derive_ops() -> dict[str, UnsafeOp]:
    """Rules 1-3 of the module docstring applied to the installed TensorFlow's op registry."""
    import tensorflow as tf
    from tensorflow.core.framework import op_def_pb2
    from tensorflow.python.client import pywrap_tf_session as c_api

    registry = op_def_pb2.OpList()
    buffer = c_api.TF_GetAllOpList()
    try:
        registry.ParseFromString(c_api.TF_GetBuffer(buffer))
    finally:
        c_api.TF_DeleteBuffer(buffer)
    found: dict[str, UnsafeOp] = {}
    for op in registry.op:
        module = getattr(getattr(tf.raw_ops, op.name, None), "__module__", None)
        inputs = [a.name for a in op.input_arg]
        if module in _MODULES:
            found[op.name] = UnsafeOp(op.name, _MODULES[module], f"an op of {module.rsplit('.', 1)[1]}")
            continue
        file_inputs = [a for a in inputs if a in FILE_ARGS]
        net_inputs = [a for a in inputs if a in NET_ARGS]
        if net_inputs:
            found[op.name] = UnsafeOp(op.name, NETWORK_IO, f"input {net_inputs[0]!r} names a network peer")
        elif file_inputs:
            found[op.name] = UnsafeOp(op.name, FILE_IO, f"input {file_inputs[0]!r} names a file")
        else:
            attrs = [a for a in op.attr if a.name in FILE_ARGS]
            if attrs:
                defaults = tuple((a.name, _attr_default(a)) for a in attrs)
                why = f"attribute {attrs[0].name!r} names a file unless left at its default"
                found[op.name] = UnsafeOp(op.name, FILE_IO, why, defaults)
    return found


def derive_functions(ops: dict[str, UnsafeOp]) -> dict[str, str]:
    """Rule 4: TensorFlow API names (as tf-keras ``TFOpLambda`` configs write them) that do I/O."""
    import tensorflow as tf
    from tensorflow.python.util import tf_export

    by_symbol: dict[int, str] = {}
    for name, op in ops.items():
        raw = getattr(tf.raw_ops, name, None)
        for symbol in (raw, getattr(raw, "__wrapped__", None)):
            if symbol is not None:
                by_symbol[id(symbol)] = op.does
    modules = {**_MODULES, **_FUNCTION_MODULES}
    found: dict[str, str] = {}
    for api_name, symbol in tf_export._NAME_TO_SYMBOL_MAPPING.items():
        module = getattr(symbol, "__module__", None) or ""
        does = by_symbol.get(id(symbol)) or next(
            (d for m, d in modules.items() if module.startswith(m)), None
        )
        if does is not None:
            found[api_name] = does
    return found


def derive_saver_ops(ops: dict[str, UnsafeOp]) -> tuple[frozenset[str], frozenset[str]]:
    """The unsafe ops TensorFlow's own savers put in a SavedModel's save and restore subgraphs.

    Saves a real TF2 SavedModel (``tf.saved_model.save``) and a real TF1 one (``Builder``, whose
    saver is sharded), each with one variable, and reads them with the scan's own graph walk."""
    import tensorflow as tf

    from edgegate.recipes.savedmodel_graph import read_saved_model, saver_subgraphs

    save: set[str] = set()
    restore: set[str] = set()
    with tempfile.TemporaryDirectory() as tmp:
        module = tf.Module()
        module.v = tf.Variable(1.0)
        module.f = tf.function(lambda x: x * module.v, input_signature=[tf.TensorSpec([1], tf.float32)])
        tf.saved_model.save(module, f"{tmp}/tf2")
        with tf.Graph().as_default():
            x = tf.compat.v1.placeholder(tf.float32, [1], name="x")
            v = tf.compat.v1.get_variable("v", initializer=tf.ones([1]))
            with tf.compat.v1.Session() as session:
                session.run(tf.compat.v1.global_variables_initializer())
                builder = tf.compat.v1.saved_model.Builder(f"{tmp}/tf1")
                signature = tf.compat.v1.saved_model.predict_signature_def({"x": x}, {"y": x * v})
                builder.add_meta_graph_and_variables(session, ["serve"], {"serving_default": signature})
                builder.save()
        for folder in ("tf2", "tf1"):
            for meta_graph in read_saved_model(Path(tmp, folder)).meta_graphs:
                sub = saver_subgraphs(meta_graph)
                for names, into in ((sub.save_nodes, save), (sub.restore_nodes, restore)):
                    into.update(n.op for n in meta_graph.graph_def.node if n.name in names and n.op in ops)
                for fn in meta_graph.graph_def.library.function:
                    into = save if fn.signature.name in sub.save_functions else restore
                    if fn.signature.name in sub.save_functions | sub.restore_functions:
                        into.update(n.op for n in fn.node_def if n.op in ops)
    return frozenset(save), frozenset(restore)


def derive_json() -> str:
    import tensorflow as tf

    ops = derive_ops()
    save, restore = derive_saver_ops(ops)
    data = {
        "generated_by": GENERATED_BY,
        "how": "see the docstring of edgegate/recipes/unsafe_ops.py",
        "tensorflow": tf.__version__,
        "saver": {"save": sorted(save), "restore": sorted(restore)},
        "functions": dict(sorted(derive_functions(ops).items())),
        "ops": {
            name: {
                "does": op.does,
                "why": op.why,
                **({"unless_default": dict(op.unless_default)} if op.unless_default else {}),
            }
            for name, op in sorted(ops.items())
        },
    }
    return json.dumps(data, indent=1, sort_keys=False) + "\n"


if __name__ == "__main__":
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stdout.write(derive_json())
