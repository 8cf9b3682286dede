"""Markers and bad patterns that survive the Tegra Combined UART's splices."""

from __future__ import annotations

import re

import pytest

from pytest_jetson.console.patterns import DEFAULT_BAD_PATTERNS
from pytest_jetson.console.tcu import tolerant, tolerant_bad

SWITCHES = [
    pytest.param(b"\xff\xe2", b"\xff\xe1", id="raw-bytes"),
    pytest.param("\ufffd\ufffd".encode(), "\ufffd\ufffd".encode(), id="replacement-chars"),
    pytest.param(b"??", b"??", id="pasted-question-marks"),
]


@pytest.mark.parametrize(("away", "back"), SWITCHES)
def test_a_splice_between_any_two_characters_keeps_the_marker(away: bytes, back: bytes) -> None:
    marker = b"UEFI firmware (version "
    regex = re.compile(tolerant(marker))
    for cut in range(1, len(marker)):
        spliced = marker[:cut] + away + b"bpmp: thermal ready\n" + back + marker[cut:]
        found = regex.search(b"Jetson " + spliced + b"36.4.4")
        assert found is not None, spliced
        assert found.group(0) == spliced


def test_several_splices_and_four_byte_alternation() -> None:
    """Thor: two firmware streams alternating every four bytes, each chunk behind a switch."""
    ours, other = b"ASSERT [Tcg2Dxe] failed", b"I/TC: WARNING (insecure configuration)"
    mixed = b""
    for at in range(0, len(ours), 4):
        mixed += b"\xff\xe4" + other[at : at + 4] + b"\xff\xe1" + ours[at : at + 4]
    assert b"ASSERT [" not in mixed
    assert re.search(tolerant(b"ASSERT ["), mixed)


def test_lost_text_is_not_invented() -> None:
    """Bytes dropped with no switch prefix cannot be recovered: no match."""
    assert re.search(tolerant(b"I> MB2 ("), b"[0004.512] I> M(version: 0.0.0.0") is None
    assert re.search(tolerant(b"I> MB2 ("), b"I> MB\xff\xe22 (") is None  # one switch only


def test_tolerant_bad_twins_keep_the_names() -> None:
    twins = tolerant_bad(DEFAULT_BAD_PATTERNS)
    assert [t.name for t in twins] == [p.name for p in DEFAULT_BAD_PATTERNS]
    assert all(t.regex for t in twins)
    panic = next(t for t in twins if t.name == "kernel_panic")
    assert re.search(
        panic.pattern, b"Kernel pa\xff\xe5Camera-FW started\r\n\xff\xe1nic - not syncing"
    )
