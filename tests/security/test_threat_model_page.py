"""docs/security.md's one-page threat model is checked against the tests it names.

Every test file the page's table names exists, every section it links to is a heading of the
page, and every attack test in tests/security/ is named somewhere on the page: a new protection
cannot land without saying what it promises, and a renamed test cannot leave the page stale.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "security.md"


def _anchor(heading: str) -> str:
    """GitHub's anchor for a markdown heading: lower case, punctuation dropped, spaces to dashes."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _threat_model_section(page: str) -> str:
    start = page.index("## The threat model on one page")
    end = page.index("\n## ", start + 1)
    return page[start:end]


def test_every_test_file_the_threat_model_names_exists():
    section = _threat_model_section(PAGE.read_text(encoding="utf-8"))
    named = set(re.findall(r"`(test_\w+\.py)`", section))
    assert len(named) >= 10, named
    existing = {p.name for p in (ROOT / "tests").rglob("test_*.py")}
    assert named - existing == set()


def test_every_section_the_threat_model_links_to_is_a_heading():
    page = PAGE.read_text(encoding="utf-8")
    anchors = {_anchor(h) for h in re.findall(r"^#{2,4} (.+)$", page, flags=re.M)}
    links = set(re.findall(r"\]\(#([\w\-]+)\)", _threat_model_section(page)))
    assert links, "the threat model links to the sections that hold each promise"
    assert links - anchors == set()


def test_every_attack_test_is_named_on_the_page():
    page = PAGE.read_text(encoding="utf-8")
    tests = {p.name for p in (ROOT / "tests" / "security").glob("test_*.py")}
    tests.discard(Path(__file__).name)
    assert {t for t in tests if t not in page} == set()
