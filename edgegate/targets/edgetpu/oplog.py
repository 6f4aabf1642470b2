"""The compiler's per-op table (``<name>_edgetpu.log`` and ``edgetpu_compiler -s``): write and read it.

Rows are ``%-31s%-11s%s`` (operator, count, status) grouped by (operator, status). The
compiler's row order is not graph order; we write groups in order of first appearance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from edgegate.target_reports.edgetpu import OpMapping

HEADER = f"{'Operator':<31}{'Count':<11}Status"
_ROW = re.compile(r"^(\S+)\s+(\d+)\s+(\S.*?)\s*$")


@dataclass(frozen=True)
class LogRow:
    op: str
    count: int
    status: str


def format_table(ops: Iterable[OpMapping]) -> str:
    counts: dict[tuple[str, str], int] = {}
    for o in ops:
        counts[(o.op, o.status)] = counts.get((o.op, o.status), 0) + 1
    return format_rows([LogRow(op, n, status) for (op, status), n in counts.items()])


def format_rows(rows: Iterable[LogRow]) -> str:
    lines = [f"{r.op:<31}{r.count:<11}{r.status}" for r in rows]
    return "\n".join([HEADER, "", *lines]) + "\n"


def parse_table(text: str) -> list[LogRow] | None:
    """The rows after the ``Operator Count Status`` header; None when ``text`` has no such table."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.split() == ["Operator", "Count", "Status"]), None)
    if start is None:
        return None
    rows = []
    for line in lines[start + 1 :]:
        m = _ROW.match(line)
        if m:
            rows.append(LogRow(m.group(1), int(m.group(2)), m.group(3)))
        elif line.strip() and rows:
            break  # the table ended (the compiler prints more after it with -s)
    return rows
