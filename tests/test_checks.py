"""The check kernel: every rule at, just inside and just outside its limit, its one margin, its wording."""

from __future__ import annotations

from edgegate.checks import MARGIN, Place, Topic, all_on, budget, growth, share, within
from edgegate.status import Status
from edgegate.units import format_bytes, parse_change

P = Place("mcu.arena", "models[0].targets.mcu.arena", 12, Status.FAIL, target="mcu")
WARN = Place("size", "models[0].budgets.size", 3, Status.WARN, topic=Topic.SIZE)


def b(n: int) -> str:
    return f"{n} B"


def test_within_is_the_one_margin_relative_to_the_limit() -> None:
    assert within(10.0, 10.0)
    assert within(200 * 0.05, 10.0) and within(10.0, 200 * 0.05)  # 5 % of 200 is 10.000000000000002
    assert within(0.75, 3 / 4)
    assert not within(10.0 + 1e-6, 10.0)
    # The margin scales with the limit: 1e-9 of a 1 GB limit is a byte fraction, not a free byte.
    assert within(1e9 + 0.5, 1e9) and not within(1e9 + 2, 1e9)
    assert not within(MARGIN * 3, 0.0)


def test_a_budget_at_just_under_and_just_over_its_limit() -> None:
    at = budget(P, "tensor arena", 100, 100, b)
    under = budget(P, "tensor arena", 99, 100, b)
    over = budget(P, "tensor arena", 101, 100, b)
    assert (at.status, under.status, over.status) == (Status.PASS, Status.PASS, Status.FAIL)
    assert at.message == "tensor arena 100 B is within the ≤ 100 B budget."
    assert over.message == "tensor arena 101 B is over the ≤ 100 B budget by 1 B."
    assert (over.limit, over.value, over.key, over.line, over.target) == (
        "≤ 100 B",
        "101 B",
        "models[0].targets.mcu.arena",
        12,
        "mcu",
    )
    # A float just past the limit by rounding passes; by a real amount it does not.
    assert budget(P, "latency", 0.1 + 0.2, 0.3, str).status is Status.PASS
    assert budget(P, "latency", 0.3001, 0.3, str).status is Status.FAIL


def test_a_budget_detail_cause_and_level() -> None:
    c = budget(WARN, "SRAM", 2048, 1024, format_bytes, detail=" (Shared_Sram)", cause="see the layers")
    assert c.status is Status.WARN  # broken at level warn
    assert c.topic is Topic.SIZE and c.target is None
    assert c.message == "SRAM 2.0 KB (Shared_Sram) is over the ≤ 1.0 KB budget by 1.0 KB; see the layers."


def test_a_floor_at_just_under_and_just_over_its_limit() -> None:
    def pct(v: float) -> str:
        return f"{v * 100:.1f}%"

    assert budget(P, "accuracy", 0.9, 0.9, pct, floor=True).status is Status.PASS
    assert budget(P, "accuracy", 0.91, 0.9, pct, floor=True).status is Status.PASS
    low = budget(P, "accuracy", 0.89, 0.9, pct, show_by=lambda d: f"{d * 100:.1f} pt", floor=True)
    assert low.status is Status.FAIL
    assert low.message == "accuracy 89.0% is under the ≥ 90.0% budget by 1.0 pt."
    assert low.limit == "≥ 90.0%"


def test_share_at_just_under_and_just_over_its_minimum() -> None:
    assert share(P, 3, 4, 0.75, "75%", "NPU").status is Status.PASS  # exactly at it, in floats
    assert share(P, 4, 4, 0.75, "75%", "NPU").status is Status.PASS
    below = share(P, 2, 4, 0.75, "75%", "NPU", cause="on the CPU: #1 COS")
    assert below.status is Status.FAIL
    assert below.message == "50.0% (2/4) of ops run on the NPU, below the 75% minimum; on the CPU: #1 COS."
    assert share(P, 3, 4, 0.75, "75%", "NPU").message == "75.0% (3/4) of ops run on the NPU, at least 75%."
    assert (below.limit, below.value) == ("≥ 75%", "50.0% (2/4)")
    # A model without ops meets no minimum, not even 0 %.
    assert share(P, 0, 0, 0.0, "0%", "NPU").status is Status.FAIL


def test_all_on_passes_only_with_every_op_on_the_accelerator() -> None:
    ok = all_on(P, 0, 5, "GPU delegate", limit="all ops delegated", value="5/5")
    assert ok.status is Status.PASS and ok.message == "all 5 ops run on the GPU delegate."
    one = all_on(P, 1, 5, "GPU delegate", limit="all ops delegated", value="4/5", cause="first: #2 COS")
    assert one.status is Status.FAIL and one.message == "1 of 5 ops run on the CPU; first: #2 COS."
    empty = all_on(P, 0, 0, "GPU delegate", limit="all ops delegated", value="0/0")
    assert empty.status is Status.FAIL and empty.message == "0 of 0 ops run on the CPU; the model has no op."


def test_growth_at_just_under_and_just_over_its_allowance() -> None:
    five = parse_change("5%", "size")
    at = growth(P, "flash", 210, 200, five, b, missing="none")  # 5 % of 200 is exactly 10
    assert at.status is Status.PASS
    assert at.message == "flash grew +10 B (+5.0%) vs base (200 B → 210 B); within the 5% allowed."
    assert (at.limit, at.value) == ("max +5%", "+10 B (+5.0%)")
    over = growth(P, "flash", 211, 200, five, b, missing="none")
    assert over.status is Status.FAIL and over.message.endswith("; more than the 5% allowed.")
    shrank = growth(P, "flash", 150, 200, five, b, missing="none")
    assert shrank.status is Status.PASS and shrank.message.startswith("flash shrank −50 B (−25.0%) vs base")
    same = growth(P, "flash", 200, 200, parse_change("0 B", "size"), b, missing="none")
    assert same.status is Status.PASS and same.message.startswith("flash did not change +0 B (±0.0%)")
    noted = growth(P, "t", 2.0, 1.0, parse_change("1 ms", "latency"), str, missing="-", detail=" (NPU part)")
    assert noted.message == "t grew +1.0 (+100.0%) vs base (1.0 → 2.0) (NPU part); within the 1 ms allowed."


def test_growth_without_a_base_figure_is_a_skip_that_says_why() -> None:
    c = growth(
        P, "flash", 210, None, parse_change("5%", "size"), b, missing="there is no base version report"
    )
    assert c.status is Status.SKIP
    assert c.message == "flash vs base not checked: there is no base version report."
    assert c.limit == "max +5%" and c.value is None
    # From a base of zero any growth is infinite in percent: the figure says no percentage.
    zero = growth(P, "flash", 10, 0, parse_change("16 B", "size"), b, missing="none")
    assert zero.status is Status.PASS and zero.value == "+10 B"


def test_every_target_skips_and_fails_through_the_one_implementation() -> None:
    from edgegate.policy.load import parse_edgetpu
    from edgegate.status import Level
    from edgegate.targets.compute.target import ComputeSettings, ComputeTarget
    from edgegate.targets.ethos_u.target import EthosUSettings, EthosUTarget
    from edgegate.targets.gpu.target import GpuSettings, GpuTarget
    from edgegate.targets.interface import PolicyPlace
    from edgegate.targets.edgetpu.target import EdgeTpuTarget
    from edgegate.targets.mcu.target import McuSettings, McuTarget

    where = PolicyPlace("models[0].targets.x", 9)
    cases = [
        (EdgeTpuTarget(parse_edgetpu({"level": "warn"}, key="models[0].edgetpu", line=9)), Status.WARN),
        (ComputeTarget(ComputeSettings(max_macs=10)), Status.FAIL),
        (
            McuTarget(McuSettings(Level.WARN, max_arena=1024, max_flash_increase=parse_change("5%", "size"))),
            Status.WARN,
        ),
        (EthosUTarget(EthosUSettings()), Status.FAIL),
        (GpuTarget(GpuSettings(level="off", fp16_overflow="warn")), Status.WARN),
    ]
    for target, broken in cases:
        skipped = target.skipped("a float model never runs here", where)
        failed = target.failed("the file is damaged", where)
        assert skipped and [c.name for c in skipped] == [c.name for c in failed], target.name
        for s, f in zip(skipped, failed):
            assert s.status is Status.SKIP and f.status is broken
            assert s.message == f"not checked for the {target.title}: a float model never runs here"
            assert f.message == f"{target.title} check failed: the file is damaged"
            assert s.target == f.target == target.name and s.line == 9 and s.key is not None
            assert s.key.startswith("models[0].targets.x")
    mcu = cases[2][0].skipped("r", where)
    assert [(c.name, c.key) for c in mcu] == [
        ("mcu.runs", "models[0].targets.x"),
        ("mcu.arena", "models[0].targets.x.arena"),
        ("mcu.vs_base.flash", "models[0].targets.x.vs_base.flash"),
    ]
    # A target that checks nothing says nothing, skipped or failed.
    off = GpuTarget(GpuSettings(level="off", fp16_overflow="off"))
    assert off.skipped("r", where) == () and off.failed("e", where) == ()
    assert EthosUTarget(EthosUSettings(level="off")).failed("e", where) == ()
