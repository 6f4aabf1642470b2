"""Reading a SavedModel as data, to refuse one whose loading would do I/O or run Python.

``tf.saved_model.load`` runs code from the model: TF2 resources' ``_initialize`` and
``_create_resource`` functions, TF1 ``main_op``/``legacy_init_op``/``table_initializer``, the
saver's restore subgraph. A pull request can put ``WriteFile`` or ``ReadFile("/proc/self/environ")``
in any of them. So before TensorFlow touches the folder, ``saved_model.pb`` is parsed as a
protobuf and every node is checked, in the graph and in every function of the library (a call
graph could reach any of them): an op of ``unsafe_ops.json`` (file I/O, network I/O, Python) is
refused wherever it is, with one exception, the checkpoint ops TensorFlow's own saver uses in the
``saver_def``'s save and restore subgraphs (and there only when nothing else reaches them).
Assets whose names climb out of ``assets/``, symlinks leading out of the folder (a
``variables.data`` linked to ``.git/config`` is read by the checkpoint reader) and Keras metadata
naming files to read (``keras_config_scan``) are refused too.

The protobuf modules are TensorFlow's generated ``_pb2`` files; importing them imports the
``tensorflow`` package. That is paid once per worker, which imports TensorFlow for the conversion
anyway; the scan itself never builds a graph or runs an op.
"""

from __future__ import annotations

import json
import os
from collections import deque
from pathlib import Path
from typing import Iterable

from google.protobuf.message import DecodeError
from google.protobuf.text_format import ParseError

from edgegate.errors import InputError
from edgegate.exception_text import bounded, first_line
from edgegate.recipes import keras_config_scan, unsafe_ops
from edgegate.recipes.savedmodel_graph import (
    Library,
    SaverSubgraphs,
    closure,
    node_name,
    read_saved_model,
    saver_subgraphs,
)
from edgegate.recipes.refusals import Finding, refusal
from edgegate.recipes.interface import SourceModel

# Collections and signature keys whose ops the loaders run (tf.saved_model.loader_impl,
# tf.compat.v1.saved_model.main_op; "__saved_model_init_op" is the TF2 init signature).
LOAD_TIME_COLLECTIONS = ("saved_model_main_op", "legacy_init_op", "table_initializer", "init_op")
INIT_SIGNATURE = "__saved_model_init_op"
# Object graph children the TF2 loader calls while restoring a resource.
_RESOURCE_FUNCTIONS = ("_create_resource", "_initialize")
_RESTORE_FROM_PREFIX = ("RestoreV2", "Restore", "RestoreSlice")  # input 0: the checkpoint prefix


def _object_paths(meta_graph) -> dict[str, str]:
    """Concrete function name → where the object graph holds it (``r._initialize``), for messages."""
    graph = meta_graph.object_graph_def
    if not graph.nodes:
        return {}
    paths = {0: ""}
    todo = deque([0])
    while todo:
        i = todo.popleft()
        for child in graph.nodes[i].children:
            if child.node_id not in paths and child.node_id < len(graph.nodes):
                paths[child.node_id] = f"{paths[i]}.{child.local_name}" if paths[i] else child.local_name
                todo.append(child.node_id)
    out: dict[str, str] = {}
    for i, path in paths.items():
        node = graph.nodes[i]
        kind = node.WhichOneof("kind")
        fns = (
            list(node.function.concrete_functions)
            if kind == "function"
            else [node.bare_concrete_function.concrete_function_name]
            if kind == "bare_concrete_function"
            else []
        )
        for fn in fns:
            out.setdefault(fn, path)
    return out


def _load_time_functions(meta_graph, library: Library, load_nodes: Iterable[str]) -> set[str]:
    """Functions the loader runs: called by load-time graph nodes, or a TF2 resource's hooks."""
    graph = meta_graph.object_graph_def
    roots: list[str] = []
    for node in graph.nodes:
        if node.WhichOneof("kind") not in ("resource", "user_object", "asset", "constant"):
            continue
        for child in node.children:
            if child.local_name in _RESOURCE_FUNCTIONS and child.node_id < len(graph.nodes):
                target = graph.nodes[child.node_id]
                if target.WhichOneof("kind") == "function":
                    roots.extend(target.function.concrete_functions)
                elif target.WhichOneof("kind") == "bare_concrete_function":
                    roots.append(target.bare_concrete_function.concrete_function_name)
        for saveable in node.saveable_objects.values():
            for fid in (saveable.save_function, saveable.restore_function):
                if 0 <= fid < len(graph.nodes) and graph.nodes[fid].WhichOneof("kind") == "function":
                    roots.extend(graph.nodes[fid].function.concrete_functions)
    nodes = {n.name: n for n in meta_graph.graph_def.node}
    return library.reached(roots) | library.called_by(nodes[n] for n in load_nodes)


def _load_time_nodes(meta_graph, subgraphs: SaverSubgraphs) -> dict[str, str]:
    """Graph node → what makes the loader run it (``saved_model_main_op``, the saver's restore op)."""
    graph = meta_graph.graph_def
    inputs = {n.name: [node_name(i) for i in n.input] for n in graph.node}
    roles: dict[str, str] = {}
    for key in LOAD_TIME_COLLECTIONS:
        if key in meta_graph.collection_def:
            roots = [node_name(n) for n in meta_graph.collection_def[key].node_list.value]
            for name in closure(roots, inputs):
                roles.setdefault(name, f"run by {key}")
    if INIT_SIGNATURE in meta_graph.signature_def:
        roots = [node_name(i.name) for i in meta_graph.signature_def[INIT_SIGNATURE].outputs.values()]
        for name in closure(roots, inputs):
            roles.setdefault(name, "run by the init signature")
    for name in subgraphs.restore_nodes:
        roles.setdefault(name, "run by the saver's restore op")
    return roles


def _unsafe(node, table: unsafe_ops.UnsafeOps) -> unsafe_ops.UnsafeOp | None:
    op = table.ops.get(node.op)
    if op is None or not op.unless_default:
        return op
    for attr, default in op.unless_default:
        if default is None or (attr in node.attr and unsafe_ops.attr_value(node.attr[attr]) != default):
            return op
    return None  # every file-naming attribute left at its default: names no file


def _scan_meta_graph(meta_graph, table: unsafe_ops.UnsafeOps, tags: str) -> list[Finding]:
    findings: list[Finding] = []
    library = Library(meta_graph)
    subgraphs = saver_subgraphs(meta_graph, library)
    load_nodes = _load_time_nodes(meta_graph, subgraphs)
    load_functions = _load_time_functions(meta_graph, library, load_nodes)
    paths = _object_paths(meta_graph)

    def allowed(node, op: str, in_save: bool, in_restore: bool, args: frozenset[str]) -> bool:
        allowance: frozenset[str] = frozenset()
        if in_save and in_restore:
            allowance = table.save_ops & table.restore_ops
        elif in_save:
            allowance = table.save_ops
        elif in_restore:
            allowance = table.restore_ops
        if op not in allowance:
            return False
        if in_restore and op in _RESTORE_FROM_PREFIX:
            # The loader feeds the checkpoint prefix; a constant one would read another file.
            prefix = node_name(node.input[0]) if node.input else ""
            return prefix == subgraphs.filename_node if not args else prefix in args
        return True

    for node in meta_graph.graph_def.node:
        op = _unsafe(node, table)
        if op is None:
            continue
        in_save, in_restore = node.name in subgraphs.save_nodes, node.name in subgraphs.restore_nodes
        if allowed(node, node.op, in_save, in_restore, frozenset()):
            continue
        role = load_nodes.get(node.name)
        where = f"graph node {bounded(node.name, 80)!r}{f' ({role})' if role else ''}{tags}"
        findings.append(Finding(where, _runs(node.op, op, node.name in load_nodes)))
    for name, function in library.functions.items():
        in_save, in_restore = name in subgraphs.save_functions, name in subgraphs.restore_functions
        args = frozenset(a.name for a in function.signature.input_arg)
        for node in function.node_def:
            op = _unsafe(node, table)
            if op is None or allowed(node, node.op, in_save, in_restore, args):
                continue
            held = f" ({paths[name]})" if name in paths else ""
            where = f"function {bounded(name, 100)}{held}{tags}"
            findings.append(Finding(where, _runs(node.op, op, name in load_functions)))
    for asset in meta_graph.asset_file_def:
        if not _stays_in_assets(asset.filename):
            findings.append(
                Finding(f"asset {bounded(asset.filename, 100)!r}", "names a file outside assets/")
            )
    return findings


def _runs(op_name: str, op: unsafe_ops.UnsafeOp, at_load: bool) -> str:
    return f"runs {op_name} ({op.does}{' at load time' if at_load else ''})"


def _stays_in_assets(name: str) -> bool:
    if not name or "\0" in name or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return False
    parts = name.replace("\\", "/").split("/")
    return ".." not in parts


def _symlinks_out(folder: Path) -> list[Finding]:
    """Files or folders in the SavedModel that are symlinks leading out of it (not followed)."""
    findings: list[Finding] = []
    real_root = os.path.realpath(folder)
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            entry = Path(dirpath, name)
            if entry.is_symlink() and not Path(os.path.realpath(entry)).is_relative_to(real_root):
                shown = entry.relative_to(folder).as_posix()
                findings.append(Finding(shown, "is a symlink leading out of the SavedModel folder"))
    return findings


def _keras_metadata_findings(folder: Path, saved_model) -> list[Finding]:
    """Keras layer configs stored with the SavedModel (``keras_metadata.pb``, or the object
    graph's ``user_object.metadata`` of older tf-keras), checked for files named to read."""
    configs: list[object] = []
    metadata_file = folder / "keras_metadata.pb"
    if metadata_file.is_file():
        from tf_keras.protobuf import saved_metadata_pb2

        metadata = saved_metadata_pb2.SavedMetadata()
        metadata.ParseFromString(metadata_file.read_bytes())
        configs.extend(_json_or_none(node.metadata) for node in metadata.nodes)
    for meta_graph in saved_model.meta_graphs:
        for node in meta_graph.object_graph_def.nodes:
            if node.WhichOneof("kind") == "user_object" and node.user_object.metadata:
                configs.append(_json_or_none(node.user_object.metadata))
    return [
        Finding(f"keras_metadata.pb: {layer}", reason)
        for layer, reason in keras_config_scan.file_reading_layers({"nodes": configs})
    ]


def _json_or_none(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return None


def scan_saved_model(folder: Path) -> list[Finding]:
    """Everything in the SavedModel at ``folder`` that would do I/O or run Python at load."""
    findings = _symlinks_out(folder)
    if findings:  # reading further would follow them
        return findings
    saved_model = read_saved_model(folder)
    table = unsafe_ops.load()
    several = len(saved_model.meta_graphs) > 1
    for meta_graph in saved_model.meta_graphs:
        tags = f" [tags {','.join(meta_graph.meta_info_def.tags)}]" if several else ""
        findings.extend(_scan_meta_graph(meta_graph, table, tags))
    findings.extend(_keras_metadata_findings(folder, saved_model))
    return findings


def check_saved_model(source: SourceModel) -> None:
    """Raise ``InputError`` naming what was found if loading ``source`` would do I/O or run Python.

    A trusted model (``trust_code: true``) is loaded as it is, without a scan."""
    if source.trust_code:
        return
    try:
        findings = scan_saved_model(source.path)
    except (OSError, ValueError, DecodeError, ParseError) as e:
        raise InputError(
            f"{source.display}: not a readable SavedModel ({first_line(e)}); check that saved_model.pb "
            "is complete (not an LFS pointer or a partial upload)"
        ) from None
    if findings:
        raise refusal(source.display, "SavedModel", findings)
