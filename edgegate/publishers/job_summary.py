"""The report as the job summary (``GITHUB_STEP_SUMMARY``), shown on the workflow run's page.

GitHub accepts at most 1 MiB of summary per step; a larger report is folded by the markdown
renderer. Notes (such as why no PR comment was posted) follow the report as a quote, escaped
like the report: they quote GitHub's answers and paths.
"""

from __future__ import annotations

from pathlib import Path

from edgegate.publishers.interface import Outcome, Publication, Publisher
from edgegate.untrusted_text import md_text

SUMMARY_LIMIT_BYTES = 1024 * 1024


class JobSummaryPublisher(Publisher):
    def __init__(self, path: Path | None, notes: tuple[str, ...] = ()):
        self.path = path
        self.notes = notes

    def publish(self, publication: Publication) -> Outcome:
        if not self.path:
            return Outcome(True, "no job summary (GITHUB_STEP_SUMMARY is not set)")
        from edgegate.report.markdown import render_markdown

        tail = "".join(f"\n> {md_text(note)}\n" for note in self.notes)
        budget = SUMMARY_LIMIT_BYTES - len(tail.encode()) - 2
        text = render_markdown(publication.run)
        if len(text.encode()) > budget:
            # Folding counts characters; at most 4 bytes each in UTF-8.
            text = render_markdown(
                publication.run, max_chars=budget // 4, details_url=publication.details_url
            )
        try:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(text.rstrip("\n") + "\n" + tail + "\n")
        except OSError as e:
            return Outcome(False, f"could not write the job summary to {self.path}: {e}")
        return Outcome(True, "report written to the job summary")
