"""Matchers read literals and match widths off a pattern's source, agreeing with the parser."""

from __future__ import annotations

import re
from typing import Any

import pytest

from pytest_jetson.console.patterns import Matcher, _literal, _max_width, _quick_width

LITERALS = [
    pytest.param(rb"Started unit-5\.service", b"Started unit-5.service", id="escaped-dot"),
    pytest.param(rb"PJEabc\r\n", b"PJEabc\r\n", id="control-escapes"),
    pytest.param(rb"x\\y", b"x\\y", id="escaped-backslash"),
    pytest.param(rb"\-# =", b"-# =", id="punctuation"),
    pytest.param("café ready", "café ready".encode(), id="str-utf8"),
    pytest.param(rb"Started unit-5\.service\b", None, id="word-boundary"),
    pytest.param(rb"PJEabc\r?\n", None, id="optional"),
    pytest.param(rb"\x41", None, id="hex-escape"),
    pytest.param(rb"a]", None, id="bracket"),
    pytest.param(rb"login: ?$", None, id="anchor"),
    pytest.param("caf.", None, id="dot"),
    pytest.param(rb"", None, id="empty"),
]


@pytest.mark.parametrize(("source", "expected"), LITERALS)
def test_literal_is_read_off_the_source(source: str | bytes, expected: bytes | None) -> None:
    assert _literal(source, 0) == expected
    if expected is not None:
        text: Any = expected.decode() if isinstance(source, str) else expected
        assert re.fullmatch(source, text) is not None


def test_case_insensitive_or_verbose_source_is_never_literal() -> None:
    assert _literal(rb"login", re.IGNORECASE) is None
    assert _literal(rb"log in", re.VERBOSE) is None


@pytest.mark.parametrize(
    "source",
    [
        rb"Started unit-5\.service\b",
        rb"[$#] ?$",
        rb"(?P<stage>MB[12]) \(version: (?:\d|x)\)",
        r"caf\u00e9 (?=ready)",
        rb"\x41\0[^\n]",
        rb"a|bc|def",
    ],
)
def test_quick_width_bounds_the_parsers_width(source: bytes | str) -> None:
    width = _quick_width(source)
    assert width is not None
    assert width >= _max_width(source, 0)


@pytest.mark.parametrize("source", [rb"x{3000}", rb"(ab)\1", rb"(?P<a>x)(?P=a)"])
def test_repetition_counts_and_back_references_go_to_the_parser(source: bytes) -> None:
    assert _quick_width(source) is None
    assert Matcher(source, 2048).overlap >= _max_width(source, 0)


@pytest.mark.parametrize("source", [rb"PJE (\d+)\r?\n", rb"login.*$"])
def test_unbounded_source_takes_the_span_overlap(source: bytes) -> None:
    assert Matcher(source, 2048).overlap == 2048
