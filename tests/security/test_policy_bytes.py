"""Bytes in the policy that YAML's reader itself refuses, and tags, merges and encodings.

A NUL (or ``\\x01``) anywhere in ``edgegate.yml``, even in a comment, made PyYAML's reader raise
``ReaderError`` before any parsing: ``check``, ``needs`` and ``ci`` ended in a traceback (exit
1), no summary, and the previous push's ✅ comment stayed on the pull request. Now it is a
policy problem like any other, at its line: exit 2, and in ``ci`` the "could not run" comment
replaces the old one. Each command runs for real on a real pull request.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from edgegate.errors import PolicyError
from edgegate.policy.load import load_policy
from edgegate.publishers.pr_comment import MARKER
from tests.github.conftest import BOT, FakeGitHub, actions_env, load_event
from tests.gitrepo import GitRepo, edgegate_cli as edgegate

GOOD = b"version: 1\nmodels:\n  - name: net\n    path: net.tflite\n"
NUL_IN_A_COMMENT = b"version: 1\nmodels:\n  - name: net  # fine \x00 or not\n    path: net.tflite\n"
NUL_PROBLEM = (
    "edgegate.yml:3: yaml: holds U+0000, a character YAML does not allow anywhere, not even in a "
    "comment (a control character such as NUL); remove it"
)


def problems(tmp_path: Path, raw: bytes) -> list[str]:
    (tmp_path / "edgegate.yml").write_bytes(raw)
    with pytest.raises(PolicyError) as e:
        load_policy(tmp_path / "edgegate.yml", root=tmp_path)
    return e.value.problems


def _refused(code: str, line: int) -> str:
    return (
        f"edgegate.yml:{line}: yaml: holds U+{code}, a character YAML does not allow anywhere, not even "
        "in a comment (a control character such as NUL); remove it"
    )


@pytest.mark.parametrize(
    "raw, expected",
    [
        (NUL_IN_A_COMMENT, [NUL_PROBLEM]),
        (b"version: 1\nmodels:\n  - name: net\n    path: net\x00.tflite\n", [_refused("0000", 4)]),
        (b"version: 1\nmodels:\n  - name: n\x01et\n    path: net.tflite\n", [_refused("0001", 3)]),
        ("version: 1\n# \uffff\nmodels: []\n".encode(), [_refused("FFFF", 2)]),
        (
            b"version: 1\nmodels:\n  - name: !!binary aGVsbG8=\n    path: net.tflite\n",
            ["edgegate.yml:3: models[0].name: the tag 'tag:yaml.org,2002:binary' is not allowed in a policy"],
        ),
        (
            b"version: 1\nmodels:\n  - name: !!python/name:os.system\n    path: net.tflite\n",
            [
                "edgegate.yml:3: models[0].name: the tag 'tag:yaml.org,2002:python/name:os.system' "
                "is not allowed in a policy"
            ],
        ),
        (
            b"version: 1\nmodels:\n  - name: net\n    path: !!python/object/apply:os.system [true]\n",
            [
                "edgegate.yml:4: models[0].path: the tag "
                "'tag:yaml.org,2002:python/object/apply:os.system' is not allowed in a policy"
            ],
        ),
        (
            b"version: 1\nmodels: !mine\n  - name: net\n    path: net.tflite\n",
            ["edgegate.yml:2: models: the tag '!mine' is not allowed in a policy"],
        ),
        (
            b"version: 1\nmodels:\n  - name: net\n    path: net.tflite\n    watch: !!set {a, b}\n",
            ["edgegate.yml:5: models[0].watch: the tag 'tag:yaml.org,2002:set' is not allowed in a policy"],
        ),
        (
            b"version: 1\nmodels:\n  - <<: {name: net}\n    path: net.tflite\n",
            [
                "edgegate.yml:3: models[0]: keys are names: merge keys (<<) are not supported; share "
                "settings with defaults: instead"
            ],
        ),
        (GOOD.decode().encode("utf-16"), ["edgegate.yml:1: (file): not UTF-8 text (byte 0)"]),
        (GOOD.replace(b"net\n", b"caf\xe9\n"), ["edgegate.yml:3: (file): not UTF-8 text (byte 32)"]),
    ],
    ids=[
        "NUL in a comment",
        "NUL in a value",
        "x01",
        "U+FFFF",
        "binary tag",
        "python name tag",
        "python object tag",
        "local tag",
        "set",
        "merge",
        "utf-16",
        "latin-1",
    ],
)
def test_bytes_tags_merges_and_encodings_are_policy_problems_at_their_line(tmp_path, raw, expected):
    assert problems(tmp_path, raw) == expected


def test_a_leading_utf8_bom_is_read_as_yaml_allows():
    from edgegate.policy.yaml_reader import read_yaml

    assert read_yaml("\ufeff" + GOOD.decode()).data == read_yaml(GOOD.decode()).data


# --- the real commands on a pull request that puts a NUL in the policy ---------------------------


@pytest.fixture
def pull_request(tmp_path) -> tuple[GitRepo, str, str]:
    """main holds a good policy; the pull request's commit writes a NUL into a comment of it."""
    repo = GitRepo(tmp_path / "repo")
    repo.root.mkdir()
    repo.git("init", "-q", "-b", "main")
    repo.write("edgegate.yml", GOOD)
    repo.write("net.tflite", b"TFL3 not really")
    base = repo.commit("base")
    repo.git("checkout", "-qb", "feature")
    repo.write("edgegate.yml", NUL_IN_A_COMMENT)
    repo.write("net.tflite", b"TFL3 not really, changed")
    head = repo.commit("a NUL in the policy")
    return repo, base, head


def _no_traceback(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in proc.stdout + proc.stderr and "ReaderError" not in proc.stdout + proc.stderr


def test_check_says_the_policy_line_and_exits_2(pull_request):
    repo, _, _ = pull_request
    proc = edgegate("check", "--base", "main", cwd=repo.root, env={})
    _no_traceback(proc)
    assert proc.returncode == 2 and NUL_PROBLEM in proc.stderr


def test_needs_says_the_policy_line_and_leaves_the_error_to_ci(pull_request, tmp_path):
    """``needs`` never fails the job itself (``ci`` reports a policy error with the comment and
    the annotations); it says the problem at its line, and installs nothing it cannot justify."""
    repo, _, _ = pull_request
    output = tmp_path / "output"
    output.write_text("")
    proc = edgegate("needs", "--base", "main", cwd=repo.root, env={"GITHUB_OUTPUT": str(output)})
    _no_traceback(proc)
    assert proc.returncode == 0 and NUL_PROBLEM in proc.stdout
    assert "tensorflow<<" in output.read_text() and "\nfalse\n" in output.read_text()


def test_ci_replaces_the_old_green_comment_with_could_not_run(pull_request, tmp_path):
    repo, base, head = pull_request
    github = FakeGitHub().start()
    try:
        old = github.add_comment(17, MARKER + "\n## ✅ EdgeGate: 1 model within budget", author=BOT)
        event = load_event("pull_request_opened", pull_request__base__sha=base, pull_request__head__sha=head)
        env = actions_env(github, tmp_path, event)
        proc = edgegate("ci", "--base", base, cwd=repo.root, env=env)
        _no_traceback(proc)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        # The annotation at the policy's line (":" escaped in a property, as the runner unescapes it) …
        annotation = "::error file=edgegate.yml,line=3,title=EdgeGate%3A invalid policy::yaml: holds U+0000"
        assert annotation in proc.stdout
        # … the job summary, and the one comment, edited in place: no green verdict left.
        assert "EdgeGate could not run" in (tmp_path / "summary.md").read_text()
        (comment,) = github.comments_on(17)
        assert comment["id"] == old["id"] and "✅" not in comment["body"]
        assert "EdgeGate could not run" in comment["body"] and NUL_PROBLEM in comment["body"]
    finally:
        github.stop()
