"""The data-flow graph of a model's first subgraph: which op produces each op's inputs.

The Edge TPU partition rule is a rule about dependencies (reference §2: an op runs on the CPU
when it depends on an op that runs on the CPU after the partition started), so the static
check and the reader of compiled models both walk this graph instead of the op list.

Model files are hostile input: a tensor may have several producers, an op may read a tensor
produced after it, or the graph may have a cycle. None of that raises here; ``order`` still
visits every op exactly once, producers first wherever the graph allows it.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from edgegate.targets.flatbuffer import TfliteModel


@dataclass(frozen=True)
class Graph:
    producers: tuple[tuple[int, ...], ...]  # per op: indices of the ops writing its inputs, ascending
    consumers: tuple[tuple[int, ...], ...]  # per op: indices of the ops reading its outputs, ascending
    order: tuple[int, ...]  # every op once, producers before consumers (cycles: by index, at the end)
    unordered: tuple[int, ...]  # ops on or after a cycle: no execution order exists for them (damaged file)


def build(model: TfliteModel) -> Graph:
    writers: dict[int, list[int]] = {}
    for op in model.operators:
        for t in op.outputs:
            writers.setdefault(t, []).append(op.index)
    producers = tuple(
        tuple(sorted({w for t in op.inputs if t >= 0 for w in writers.get(t, ()) if w != op.index}))
        for op in model.operators
    )
    readers: list[set[int]] = [set() for _ in model.operators]
    for i, before in enumerate(producers):
        for p in before:
            readers[p].add(i)
    consumers = tuple(tuple(sorted(r)) for r in readers)
    order, unordered = _topological(producers, consumers)
    return Graph(producers, consumers, order, unordered)


def _topological(
    producers: tuple[tuple[int, ...], ...], consumers: tuple[tuple[int, ...], ...]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Kahn's algorithm, smallest index first so a well-formed file keeps its execution order."""
    waiting = [len(p) for p in producers]
    ready = [i for i, n in enumerate(waiting) if n == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for c in consumers[i]:
            waiting[c] -= 1
            if waiting[c] == 0:
                heapq.heappush(ready, c)
    seen = set(order)
    unordered = tuple(i for i in range(len(producers)) if i not in seen)  # a cycle: append them by index
    return tuple(order) + unordered, unordered


def depends_on(graph: Graph, sources: set[int]) -> set[int]:
    """Ops that read, directly or through other ops, an output of an op in ``sources`` (sources excluded)."""
    found: set[int] = set()
    stack = list(sources)
    while stack:
        for c in graph.consumers[stack.pop()]:
            if c not in found and c not in sources:
                found.add(c)
                stack.append(c)
    return found
