"""The GitHub Actions environment of one step, read from the runner's variables.

Reading is pure (a mapping in, a frozen value out) so tests pass a dict instead of patching
``os.environ``. The token is kept out of ``repr`` so the value can be logged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_SERVER_URL = "https://github.com"
REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*)/[A-Za-z0-9._-]+$")


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


@dataclass(frozen=True)
class GitHubEnvironment:
    actions: bool  # GITHUB_ACTIONS=true: running on a runner (workflow commands are understood)
    repository: str | None  # owner/name
    api_url: str
    server_url: str
    event_name: str | None
    event_path: Path | None
    sha: str | None
    ref: str | None
    workspace: Path | None
    step_summary: Path | None
    output: Path | None
    run_id: str | None
    run_attempt: str | None
    runner_temp: Path | None
    token: str | None = field(default=None, repr=False)
    comment_author: str | None = None  # EDGEGATE_COMMENT_AUTHOR: the login the token comments as
    comment_header: str = ""  # EDGEGATE_COMMENT_HEADER: one sticky comment per header (several jobs)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> GitHubEnvironment:
        def get(name: str) -> str | None:
            return env.get(name) or None

        return cls(
            actions=env.get("GITHUB_ACTIONS") == "true",
            repository=get("GITHUB_REPOSITORY"),
            api_url=(get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/"),
            server_url=(get("GITHUB_SERVER_URL") or DEFAULT_SERVER_URL).rstrip("/"),
            event_name=get("GITHUB_EVENT_NAME"),
            event_path=_path(get("GITHUB_EVENT_PATH")),
            sha=get("GITHUB_SHA"),
            ref=get("GITHUB_REF"),
            workspace=_path(get("GITHUB_WORKSPACE")),
            step_summary=_path(get("GITHUB_STEP_SUMMARY")),
            output=_path(get("GITHUB_OUTPUT")),
            run_id=get("GITHUB_RUN_ID"),
            run_attempt=get("GITHUB_RUN_ATTEMPT"),
            runner_temp=_path(get("RUNNER_TEMP")),
            # The action passes its github-token input as GITHUB_TOKEN; GH_TOKEN is the gh CLI's name.
            token=get("GITHUB_TOKEN") or get("GH_TOKEN"),
            comment_author=(get("EDGEGATE_COMMENT_AUTHOR") or "").strip() or None,
            comment_header=(get("EDGEGATE_COMMENT_HEADER") or "").strip(),
        )

    @property
    def run_url(self) -> str | None:
        """The workflow run's page, where each job's summary is shown."""
        if not (self.repository and self.run_id):
            return None
        url = f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"
        return f"{url}/attempts/{self.run_attempt}" if self.run_attempt and self.run_attempt != "1" else url


def valid_repository(name: str | None) -> bool:
    return bool(name and REPOSITORY.match(name))
