"""A SavedModel's graph as data: ``saved_model.pb`` parsed, its call graph, its saver's subgraphs.

Shared by the scan that refuses unsafe SavedModels (``savedmodel_scan``) and the derivation of
the op set it refuses (``unsafe_ops``, which reads TensorFlow's own savers with it), so neither
imports the other. Nothing here builds a graph or runs an op.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable


@dataclass(frozen=True)
class SaverSubgraphs:
    """Graph nodes and library functions only TensorFlow's saver reaches (see ``saver_subgraphs``)."""

    save_nodes: frozenset[str]
    restore_nodes: frozenset[str]
    save_functions: frozenset[str]
    restore_functions: frozenset[str]
    filename_node: str | None


def read_saved_model(folder: Path):
    """``saved_model.pb`` (or ``.pbtxt``) of ``folder`` as a ``SavedModel`` message."""
    from tensorflow.core.protobuf import saved_model_pb2

    message = saved_model_pb2.SavedModel()
    binary, text = folder / "saved_model.pb", folder / "saved_model.pbtxt"
    if binary.is_file():
        message.ParseFromString(binary.read_bytes())
    else:
        from google.protobuf import text_format

        text_format.Parse(text.read_text(encoding="utf-8"), message)
    return message


def node_name(tensor: str) -> str:
    """``"^a"``, ``"a:0"``, ``"a:out:0"`` (a function's node output) → ``"a"``."""
    return tensor.lstrip("^").split(":", 1)[0]


def _called(node) -> Iterable[str]:
    """Names of the functions a ``NodeDef`` calls: its function-valued attributes, or the op itself."""
    yield node.op  # a library function can be called by name, as an op
    for value in node.attr.values():
        kind = value.WhichOneof("value")
        if kind == "func":
            yield value.func.name
        elif kind == "list" and value.list.func:
            for fn in value.list.func:
                yield fn.name


def closure(start: Iterable[str], inputs: dict[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    todo = deque(n for n in start if n in inputs)
    while todo:
        name = todo.popleft()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(i for i in inputs[name] if i in inputs and i not in seen)
    return seen


class Library:
    """The graph's function library with its call graph."""

    def __init__(self, meta_graph) -> None:
        self.functions = {f.signature.name: f for f in meta_graph.graph_def.library.function}
        self.calls = {
            name: [c for node in f.node_def for c in _called(node) if c in self.functions]
            for name, f in self.functions.items()
        }

    def reached(self, roots: Iterable[str]) -> set[str]:
        return closure((r for r in roots if r in self.functions), self.calls)

    def called_by(self, nodes: Iterable) -> set[str]:
        return self.reached(c for node in nodes for c in _called(node))


def saver_subgraphs(meta_graph, library: Library | None = None) -> SaverSubgraphs:
    """The ``saver_def``'s save and restore subgraphs, only as far as nothing else reaches them.

    The restore subgraph is what ``saver_def.restore_op_name`` depends on (the TF1 loader runs
    it), the save subgraph what ``save_tensor_name`` depends on (no loader runs it, but every
    SavedModel has it); each with the library functions they call. A node or function also
    reached from outside the saver (a main op depending on the restore op) loses the allowance."""
    graph = meta_graph.graph_def
    nodes = {n.name: n for n in graph.node}
    inputs = {n.name: [node_name(i) for i in n.input] for n in graph.node}
    library = library or Library(meta_graph)
    saver = meta_graph.saver_def
    save = closure([node_name(saver.save_tensor_name)], inputs) if saver.save_tensor_name else set()
    restore = closure([node_name(saver.restore_op_name)], inputs) if saver.restore_op_name else set()
    others = set(nodes) - save - restore
    reached_by_others = closure(others, inputs)
    save -= reached_by_others
    restore -= reached_by_others
    other_functions = library.called_by(nodes[n] for n in reached_by_others)
    other_functions |= library.reached(_object_graph_functions(meta_graph))
    save_fns = library.called_by(nodes[n] for n in save) - other_functions
    restore_fns = library.called_by(nodes[n] for n in restore) - other_functions
    filename = node_name(saver.filename_tensor_name) if saver.filename_tensor_name else None
    return SaverSubgraphs(
        frozenset(save), frozenset(restore), frozenset(save_fns), frozenset(restore_fns), filename
    )


def _object_graph_functions(meta_graph) -> list[str]:
    """Every function the TF2 object graph hands to the loader (methods, resource hooks, saveables)."""
    names: list[str] = []
    for node in meta_graph.object_graph_def.nodes:
        kind = node.WhichOneof("kind")
        if kind == "function":
            names.extend(node.function.concrete_functions)
        elif kind == "bare_concrete_function":
            names.append(node.bare_concrete_function.concrete_function_name)
    names.extend(meta_graph.object_graph_def.concrete_functions.keys())
    return names
