"""The converter's keep-float path: patterns resolved against a model's op output names."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from edgegate.errors import InputError
from edgegate.policy.sections import KeepFloat
from edgegate.recipes.denylist import resolve
from tests.gitrepo import CHECKOUT

OPS = [
    ("FULLY_CONNECTED", "model/features/MatMul;model/features/Relu"),
    ("FULLY_CONNECTED", "model/features_1/MatMul"),
    ("CONV_2D", "model/conv/Conv2D"),
]


def test_regexes_and_op_names_resolve_to_output_names_and_a_miss_names_its_line():
    keep = (KeepFloat("^model/features/MatMul(;|$)"), KeepFloat("CONV_2D"))
    assert resolve(keep, OPS, model="m", label="int8") == [OPS[0][1], OPS[2][1]]
    with pytest.raises(InputError) as e:
        resolve((KeepFloat("dense", line=12),), OPS, model="m", label="int8")
    assert str(e.value).startswith("int8: keep_float (policy line 12): 'dense' matches no layer of model 'm'")
    assert "'model/conv/Conv2D'" in str(e.value)


def test_a_backtracking_pattern_from_the_pr_is_stopped_not_left_to_stall_the_build():
    """A PR writes both the layer names (its model) and the pattern (its policy): ``(a|a)*$`` over a
    40-letter name backtracks 2⁴⁰ ways. Run as a worker runs it (a process of its own, main thread);
    without the bound this runs for hours, and the subprocess's limit fails the test."""
    script = textwrap.dedent(
        """
        from edgegate.errors import InputError
        from edgegate.policy.sections import KeepFloat
        from edgegate.recipes.denylist import resolve
        try:
            resolve((KeepFloat("(a|a)*$", line=9),), [("FULLY_CONNECTED", "m/" + "a" * 40 + "/MatMul")], model="m", label="int8")
        except InputError as e:
            print(e)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=CHECKOUT, capture_output=True, text=True, timeout=120
    )
    assert "int8: keep_float (policy line 9): '(a|a)*$' took over 5 s to match" in done.stdout, done.stderr
