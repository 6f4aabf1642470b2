"""The wheelhouse the action's install tests serve: a missing or stale one is said, with the command."""

import json

from tests import wheelhouse


def test_a_missing_wheelhouse_names_the_command_that_builds_it(tmp_path):
    why = wheelhouse.problem(tmp_path / "wheelhouse")
    assert why is not None and "no wheelhouse at" in why and f"`{wheelhouse.COMMAND}`" in why


def test_a_wheelhouse_built_for_another_uv_is_stale_and_a_current_one_is_used(tmp_path):
    (tmp_path / wheelhouse.STAMP).write_text(json.dumps({**wheelhouse.built_for(), "uv": "0.0.1"}))
    why = wheelhouse.problem(tmp_path)
    assert why is not None and "built for other requirements" in why and wheelhouse.COMMAND in why
    (tmp_path / wheelhouse.STAMP).write_text(json.dumps(wheelhouse.built_for()))
    assert wheelhouse.problem(tmp_path) is None
