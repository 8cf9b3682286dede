"""The console's patterns: matchers read literals and match widths off a pattern's source
(agreeing with the parser), and how the console searches: bad patterns in batches and in one
pass, literal fast paths."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_jetson.console import (
    DEFAULT_BAD_PATTERNS,
    BadPattern,
    BadPatternSeen,
    SerialConsole,
    strip_log_stamps,
)
from pytest_jetson.console.patterns import BadScanner, Matcher, _literal, _max_width, _quick_width

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


PANIC = b"[    2.345678] Kernel panic - not syncing: VFS: Unable to mount root fs\r\n"


@pytest.fixture(params=[False, True], ids=["find-per-pattern", "one-pass"])
def accelerate(request: pytest.FixtureRequest) -> bool:
    if request.param:
        pytest.importorskip("ahocorasick_rs")
    return bool(request.param)


@pytest.fixture
def console(dut: Any, tmp_path: Path) -> Iterator[SerialConsole]:
    with SerialConsole.open(str(dut.path), log=tmp_path / "console.log") as con:
        yield con


def later(action: Callable[[], None], delay: float = 0.2) -> threading.Timer:
    """Run ``action`` once the caller is (almost certainly) blocked in ``expect``."""
    timer = threading.Timer(delay, action)
    timer.start()
    return timer


def test_scanner_reports_the_earliest_bad_pattern(accelerate: bool) -> None:
    scanner = BadScanner(DEFAULT_BAD_PATTERNS, 2048, accelerate=accelerate)
    assert scanner.accelerated is accelerate
    buf = bytearray(b"ok\nUEFI ASSERT [x.c:1]\n" + PANIC)
    start, end, pattern = scanner.find(buf, 0, len(buf)) or (0, 0, None)
    assert pattern is not None and pattern.name == "uefi_assert"
    assert buf[start:end] == b"ASSERT ["
    found = scanner.find(buf, start + 1, len(buf))
    assert found is not None and found[2].name == "kernel_panic"


def test_scanner_honours_start_and_limit(accelerate: bool) -> None:
    scanner = BadScanner(DEFAULT_BAD_PATTERNS, 2048, accelerate=accelerate)
    buf = bytearray(b"12345" + PANIC)
    at = buf.index(b"Kernel")
    assert scanner.find(buf, 0, at - 1) is None
    assert scanner.find(buf, at + 1, len(buf)) is None
    found = scanner.find(buf, 0, at)
    assert found is not None and found[:2] == (at, at + len(b"Kernel panic - not syncing"))


def test_scanner_breaks_ties_by_pattern_order_and_mixes_regexes(accelerate: bool) -> None:
    patterns = [
        BadPattern("short", b"Oops"),
        BadPattern("long", b"Oops: 0000"),
        BadPattern("thermal", rb"thermal zone \d+ critical", regex=True),
        BadPattern("short", b"BUG:"),
    ]
    scanner = BadScanner(patterns, 2048, accelerate=accelerate)
    buf = bytearray(b"a thermal zone 3 critical; Oops: 0000 BUG:")

    def name_from(start: int) -> str | None:
        found = scanner.find(buf, start, len(buf))
        return found[2].name if found is not None else None

    assert name_from(0) == "thermal"
    tie = scanner.find(buf, 3, len(buf))
    assert tie is not None and tie[2] == patterns[0] and buf[tie[0] : tie[1]] == b"Oops"
    assert (name_from(buf.index(b"0000")), name_from(buf.index(b"BUG:") + 1)) == ("short", None)


def test_bad_pattern_just_before_the_match_in_a_burst_wins(
    dut: Any, console: SerialConsole
) -> None:
    # More than one batch of reads: the panic and the prompt arrive together, right after a
    # batch the bad patterns were searched in, so only the search up to the match can see it.
    filler = b"".join(b"[%12.6f] nvgpu: probe step %d\r\n" % (i, i) for i in range(2500))
    later(lambda: dut.write(filler + PANIC + b"\r\ntegra-ubuntu login: "))
    with pytest.raises(BadPatternSeen) as caught:
        console.expect(rb"login: ", timeout=30, stage="login")
    assert caught.value.name == "kernel_panic"


def test_bad_pattern_after_the_match_fails_only_the_next_wait(
    dut: Any, console: SerialConsole
) -> None:
    dut.write(b"Starting kernel ...\r\n" + PANIC)
    assert console.expect("Starting kernel", timeout=5).before == ""
    with pytest.raises(BadPatternSeen, match="kernel_panic"):
        console.expect("login:", timeout=30)


def test_bad_pattern_then_silence_fails_the_wait(dut: Any, console: SerialConsole) -> None:
    later(lambda: dut.write(b"[    9.0] Internal error: Oops: 96000004 [#1] SMP\r\n"))
    # Nothing follows the Oops: only the search on a quiet port can end this wait.
    with pytest.raises(BadPatternSeen) as caught:
        console.expect("login:", timeout=60, stage="kernel")
    assert caught.value.name == "kernel_oops"
    assert "Oops: 96000004" in str(caught.value)


def test_bad_pattern_in_a_flood_larger_than_the_buffer_is_seen(dut: Any) -> None:
    filler = b"".join(b"[%12.6f] systemd[1]: Started unit %d.\r\n" % (i, i) for i in range(6000))
    flood = filler + PANIC + filler + b"END\r\n"
    with SerialConsole.open(str(dut.path), max_buffer=1 << 14) as con:
        writer = later(lambda: dut.write(flood))
        with pytest.raises(BadPatternSeen, match="kernel_panic"):
            con.expect(b"END", timeout=60)
        writer.join()
        assert con.buffered <= 1 << 14


def test_str_literal_split_inside_a_character(
    wait_for: Any, dut: Any, console: SerialConsole
) -> None:
    dut.write(b"ready: caf\xc3")
    wait_for(lambda: console.bytes_received == 11)
    dut.write(b"\xa9 pr\xc3\xaat\r\n")
    found = console.expect("café prêt", timeout=5)
    assert (found.text, found.before, found.line) == ("café prêt", "ready: ", "ready: café prêt")


def test_case_insensitive_pattern_is_not_taken_literally(dut: Any, console: SerialConsole) -> None:
    dut.write(b"TEGRA-UBUNTU LOGIN: ")
    found = console.expect(re.compile(rb"tegra-ubuntu login: ", re.IGNORECASE), timeout=5)
    assert found.group(0) == b"TEGRA-UBUNTU LOGIN: "


def test_log_keeps_every_byte_of_a_flood(wait_for: Any, dut: Any, tmp_path: Path) -> None:
    data = b"".join(b"[%12.6f] usb 1-%d: new device\r\n" % (i / 7, i % 9) for i in range(20000))
    data += b"no newline at the end"
    log = tmp_path / "flood.log"
    with SerialConsole.open(str(dut.path), log=log) as con:
        dut.write(data)
        wait_for(lambda: con.bytes_received == len(data), timeout=20)
    assert strip_log_stamps(log.read_bytes()) == data


def test_match_whose_lookahead_reaches_past_the_overlap_is_reported_whole(
    wait_for: Any, dut: Any, console: SerialConsole
) -> None:
    tail = b"-" * 3000 + b"END\n"
    dut.write(b"mark " + tail)
    wait_for(lambda: console.bytes_received == 5 + len(tail))
    found = console.expect(rb"mark (?=-{3000}END)", timeout=5)
    assert found.text == "mark "
    assert found.match.string.endswith(b"END\n")


def test_str_pattern_is_not_fooled_by_where_a_text_window_ends(
    wait_for: Any, dut: Any, console: SerialConsole
) -> None:
    data = b"x" * 4094 + b"$ more\n" + "café ".encode() * 2000 + b"\nprompt$ "
    dut.write(data)
    wait_for(lambda: console.bytes_received == len(data))
    found = console.expect(r"\$ $", timeout=5)
    assert found.before.endswith("café \nprompt")
