"""The console log: stamps per line, and secrets masked in the stream, not read by read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_jetson.console import SerialConsole, strip_log_stamps
from pytest_jetson.console.log import MASK, ConsoleLog

SECRET = b"hunter2-secret"


@pytest.mark.parametrize("flush_each", [False, True], ids=["batched", "flushed-per-read"])
def test_secret_arriving_one_byte_per_read_never_reaches_the_file(
    tmp_path: Path, flush_each: bool
) -> None:
    log = ConsoleLog(tmp_path / "console.log", 0.0)
    log.add_secret(SECRET)
    stream = b"Password: " + SECRET + b"\r\nWelcome, hun\r\n"
    for at, byte in enumerate(stream):
        log.write(bytes([byte]), at / 100)
        if flush_each:
            log.flush()
    log.close()
    written = (tmp_path / "console.log").read_bytes()
    assert b"hunter" not in written
    assert strip_log_stamps(written) == b"Password: " + MASK + b"\r\nWelcome, hun\r\n"


def test_possible_start_of_a_secret_held_at_a_note_is_written_masked(tmp_path: Path) -> None:
    log = ConsoleLog(tmp_path / "console.log", 0.0)
    log.add_secret(SECRET)
    log.write(b"login: hunte", 0.5)
    log.flush()
    assert b"login: " in (tmp_path / "console.log").read_bytes()
    assert b"hunte" not in (tmp_path / "console.log").read_bytes()
    log.note("port lost", 0.6)
    log.close()
    written = (tmp_path / "console.log").read_bytes()
    assert b"hunte" not in written
    assert b"login: " + MASK in written


def test_console_masks_a_secret_echoed_one_byte_per_read(
    wait_for: Any, dut: Any, tmp_path: Path
) -> None:
    with SerialConsole.open(str(dut.path), log=tmp_path / "console.log") as console:
        console.sendline(SECRET, secret=True)
        assert dut.read(len(SECRET) + 1) == SECRET + b"\n"
        for count, byte in enumerate(SECRET + b"\r\n", start=1):
            dut.write(bytes([byte]))
            wait_for(lambda count=count: console.bytes_received == count)
        dut.write(b"$ ")
        console.expect(rb"\$ $", timeout=5)
    written = (tmp_path / "console.log").read_bytes()
    assert SECRET[:4] not in written
    assert MASK in written
