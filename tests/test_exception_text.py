from edgegate.exception_text import LIMIT, bounded, first_line, first_line_with_type


class _BrokenStr(Exception):
    def __str__(self) -> str:
        raise RuntimeError("a __str__ from repository code that fails")


def test_first_line_drops_the_native_dump_after_it() -> None:
    e = RuntimeError("\n  \n  Op type not registered 'Foo'  \n  at tensorflow::Status ...\n  #0 0x7f...")
    assert first_line(e) == "Op type not registered 'Foo'"


def test_an_empty_message_reads_as_the_type_name() -> None:
    assert first_line(KeyboardInterrupt()) == "KeyboardInterrupt"
    assert first_line(ValueError("  \n\t\n")) == "ValueError"
    assert first_line_with_type(ValueError("")) == "ValueError"


def test_a_failing_str_still_gives_a_line() -> None:
    assert first_line(_BrokenStr()) == "_BrokenStr"
    assert first_line_with_type(_BrokenStr()) == "_BrokenStr"


def test_length_is_bounded_and_a_cut_says_so() -> None:
    text = first_line(ValueError("x" * 10_000))
    assert len(text) == LIMIT and text.endswith("…")
    assert first_line(ValueError("y" * 50), limit=10) == "y" * 9 + "…"
    assert first_line(ValueError("z" * 10), limit=10) == "z" * 10  # exactly at the limit: not cut


def test_with_type_prefixes_the_type_and_bounds_the_whole() -> None:
    assert first_line_with_type(ValueError("bad input\ntraceback")) == "ValueError: bad input"
    text = first_line_with_type(OSError("w" * 1000), limit=40)
    assert len(text) == 40 and text.startswith("OSError: www") and text.endswith("…")


def test_bounded_leaves_short_text_alone() -> None:
    assert bounded("short", 300) == "short"
    assert bounded("abcdef", 4) == "abc…"
