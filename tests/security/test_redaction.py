"""The scrubber masks a secret in every form it travels in, and nothing else."""

import base64
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from edgegate.redaction import MASK, Redactor, is_secret_name

TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2"


def test_secret_looking_names():
    for name in ("GITHUB_TOKEN", "ACTIONS_RUNTIME_TOKEN", "AWS_SECRET_ACCESS_KEY", "DB_PASSWORD", "NPM_AUTH"):
        assert is_secret_name(name)
    for name in ("PATH", "HOME", "GITHUB_SHA", "RUNNER_TEMP", "LANG"):
        assert not is_secret_name(name)


def test_every_form_is_masked():
    r = Redactor.for_environment({"GITHUB_TOKEN": TOKEN, "PATH": "/usr/bin:/bin"})
    for prefix in ("", "x", "xy", "x-access-token:"):  # every base64 alignment
        encoded = base64.b64encode(f"{prefix}{TOKEN}".encode()).decode()
        assert TOKEN[:6] not in r.scrub(encoded) and encoded not in r.scrub(f"basic {encoded}")
        urlsafe = base64.urlsafe_b64encode(f"{prefix}{TOKEN}".encode()).decode()
        assert r.scrub(urlsafe) != urlsafe
    assert r.scrub(f"token {TOKEN}!") == f"token {MASK}!"
    assert r.scrub(f"https://x/?t={quote('p@ss/' + TOKEN, safe='')}").count(MASK) == 1
    assert r.scrub("/usr/bin:/bin stays") == "/usr/bin:/bin stays"  # not a secret's name


def test_short_values_and_multiline_secrets():
    pem = "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END KEY-----"
    r = Redactor.for_environment({"SSH_KEY": pem, "FLAG_KEY": "1"})
    assert r.scrub("line MIIEvQIBADANBgkqhkiG9w0BAQEFAASC leaked") == f"line {MASK} leaked"
    assert r.scrub("exit code 1") == "exit code 1"  # too short to be a credential, and everywhere


@dataclass(frozen=True)
class Outcome:
    error: str | None
    notes: tuple[str, ...]
    path: Path
    count: int


def test_values_are_scrubbed_deeply_and_rebuilt():
    r = Redactor.for_values([TOKEN])
    value = {"a": [Outcome(f"e {TOKEN}", (TOKEN, "ok"), Path(f"/t/{TOKEN}"), 3)]}
    scrubbed = r.scrub_value(value)
    assert scrubbed == {"a": [Outcome(f"e {MASK}", (MASK, "ok"), Path(f"/t/{MASK}"), 3)]}
    clean = Outcome(None, ("ok",), Path("/t"), 1)
    assert r.scrub_value(clean) == clean and Redactor().scrub_value(value) is value
