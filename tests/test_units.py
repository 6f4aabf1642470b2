"""One style for every change EdgeGate writes: a real minus sign, and ± for what rounds to zero."""

from edgegate.units import format_percent_change


def test_percent_changes_use_one_sign_style():
    assert format_percent_change(4.2, 100) == "+4.2%"
    assert format_percent_change(-0.4, 100) == "−0.4%"  # U+2212, as format_accuracy_change writes
    assert format_percent_change(0.0001, 100) == "±0.0%"
    assert "-" not in format_percent_change(-50, 100)
