"""The sample comment in the README and docs/github-action.md: what the real renderer writes for
a real run, so the docs cannot go stale (tests/report/test_comment.py checks it).

The run (docs/samples/widen-dense.results.json): the bundled example (examples/digits and
edgegate.yml) in a git repository, a pull request that widens the dense layer of
examples/digits/train.py from 64 to 128 units and retrains, gated by
``edgegate check --base main --json …``. After a change to the report, rewrite both blocks:

    .venv/bin/python -m tests.report.sample_comment
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from edgegate.report.markdown import render_markdown
from edgegate.results import read_results

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "docs" / "samples" / "widen-dense.results.json"
START, END = "<!-- sample-comment:start -->", "<!-- sample-comment:end -->"
# The README shows the comment as GitHub renders it; the docs page its markdown (a ~~~ fence: the
# comment holds ``` fences of its own).
PAGES = {ROOT / "README.md": "rendered", ROOT / "docs" / "github-action.md": "markdown"}


def sample() -> str:
    return render_markdown(read_results(RESULTS))


def block(form: str) -> str:
    text = sample()
    if form == "markdown":
        return f"~~~~markdown\n{text.rstrip()}\n~~~~"
    return f"<details><summary>The comment on that pull request</summary>\n\n{text.rstrip()}\n\n</details>"


def shown(page: Path) -> str:
    """The block between the markers on ``page`` as it is now."""
    text = page.read_text(encoding="utf-8")
    found = re.search(re.escape(START) + r"\n(.*?)" + re.escape(END), text, re.S)
    assert found, f"{page}: no {START} … {END} block"
    return found.group(1).removesuffix("\n")


def write() -> None:
    for page, form in PAGES.items():
        text = page.read_text(encoding="utf-8")
        span = re.compile(re.escape(START) + r"\n.*?" + re.escape(END), re.S)
        replacement = f"{START}\n{block(form)}\n{END}"
        found = span.search(text)
        assert found, f"{page}: no {START} … {END} block"
        new = text[: found.start()] + replacement + text[found.end() :]
        page.write_text(new, encoding="utf-8")
        print(f"{page.relative_to(ROOT)}: sample comment {'rewritten' if new != text else 'unchanged'}")


if __name__ == "__main__":
    write()
    sys.exit(0)
