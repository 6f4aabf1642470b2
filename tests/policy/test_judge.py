"""``judge:`` on accuracy budgets: point (default) or significant, on changes only."""

import textwrap

import pytest

from edgegate.errors import PolicyError
from edgegate.policy.load import load_policy


def load(tmp_path, budgets: str):
    text = textwrap.dedent(
        """\
        version: 1
        models:
          - name: a
            path: a.keras
            budgets:
        """
    ) + textwrap.indent(textwrap.dedent(budgets), "      ")
    (tmp_path / "edgegate.yml").write_text(text)
    return load_policy(tmp_path / "edgegate.yml", root=tmp_path)


def problems(tmp_path, budgets: str) -> list[str]:
    with pytest.raises(PolicyError) as e:
        load(tmp_path, budgets)
    return e.value.problems


def test_judge_is_read_onto_accuracy_changes_and_defaults_to_point(tmp_path):
    (m,) = load(
        tmp_path,
        """\
        accuracy: [{min: 95%}, {max_drop: 1pt, judge: significant}, {max_drop: 3pt, level: warn}]
        vs_base: {accuracy: {max_drop: 0.5pt, judge: significant}, size: 5%}
        """,
    ).models
    judged = [(b.metric, b.against, b.written, b.judge) for b in m.budgets]
    assert judged == [
        ("accuracy", "absolute", "95%", "point"),
        ("accuracy", "float", "1pt", "significant"),
        ("accuracy", "float", "3pt", "point"),
        ("size", "base", "5%", "point"),
        ("accuracy", "base", "0.5pt", "significant"),
    ]


def test_shorthand_change_budgets_are_judged_on_the_point(tmp_path):
    (m,) = load(tmp_path, "vs_base: {accuracy: 0.5pt}\n").models
    assert [(b.against, b.judge) for b in m.budgets] == [("base", "point")]


def test_judge_significant_with_min_or_max_is_refused_with_its_line(tmp_path):
    found = problems(tmp_path, "accuracy: {min: 95%, max_drop: 1pt, judge: significant}\n")
    assert found == [
        "edgegate.yml:6: models[0].budgets.accuracy: judge: significant applies to max_drop (a change "
        "measured on paired samples); min and max are judged on the measured value: write them in a "
        "mapping of their own"
    ]
    # judge: point is what min and max get anyway: allowed, though it says nothing.
    (m,) = load(tmp_path, "accuracy: {min: 95%, judge: point}\n").models
    assert m.budgets[0].judge == "point"


def test_unknown_judges_and_judges_on_other_budgets_are_errors(tmp_path):
    assert (
        "models[0].budgets.accuracy.judge: Input should be 'point' or 'significant'"
        in problems(tmp_path, "accuracy: {max_drop: 1pt, judge: strict}\n")[0]
    )
    assert (
        "models[0].budgets.vs_base.size[0].judge: unknown key"
        in problems(tmp_path, "vs_base: {size: {max_increase: 5%, judge: significant}}\n")[0]
    )
