"""SerialConsole on real ptys: matching, bad patterns, errors, the log, port loss."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from pytest_jetson.console import (
    OEM_WIZARD_PATTERNS,
    BadPattern,
    BadPatternSeen,
    ConsoleLost,
    ConsoleTimeout,
    SerialConsole,
    strip_log_stamps,
)
from pytest_jetson.errors import BenchError, DeadlineExceeded, DutError, UsageError

STAMPED = re.compile(rb"^ *\d+\.\d{3} [|#~] ")


@pytest.fixture
def console(dut: Any, tmp_path: Path):
    with SerialConsole.open(str(dut.path), log=tmp_path / "console.log") as con:
        yield con


def test_str_match_spanning_two_reads(wait_for: Any, dut: Any, console: SerialConsole) -> None:
    dut.write(b"boot: hello wor")
    wait_for(lambda: console.bytes_received == 15)
    dut.write(b"ld\r\n")
    found = console.expect("hello world", timeout=5)
    assert found.text == "hello world"
    assert found.before == "boot: "
    assert isinstance(found.group(0), str)


def test_str_pattern_matches_decoded_text_across_a_split_character(
    wait_for: Any, dut: Any, console: SerialConsole
) -> None:
    dut.write(b"caf\xc3")
    wait_for(lambda: console.bytes_received == 4)
    dut.write(b"\xa9 ready\n")
    assert console.expect("caf. ready", timeout=5).group(0) == "café ready"


def test_bytes_pattern_gives_bytes_groups(dut: Any, console: SerialConsole) -> None:
    dut.write(b"Linux version 5.15.148-tegra (buildbrain@mobile)\n")
    found = console.expect(rb"Linux version (\S+)", timeout=5)
    assert found.group(1) == b"5.15.148-tegra"
    assert found.index == 0
    assert found.pattern == rb"Linux version (\S+)"


def test_several_patterns_report_the_earliest_in_the_stream(
    wait_for: Any, dut: Any, console: SerialConsole
) -> None:
    dut.write(b"I> MB2 (version: 0.0)\nI> MB1 (version: 1.4)\n")
    wait_for(lambda: console.bytes_received == 44)
    found = console.expect([rb"MB1", re.compile(rb"MB2")], timeout=5)
    assert (found.index, found.text) == (1, "MB2")
    assert console.expect([rb"MB1", rb"MB2"], timeout=5).index == 0


def test_wait_received_sees_new_bytes_without_consuming_them(
    dut: Any, console: SerialConsole
) -> None:
    before = console.bytes_received
    assert not console.wait_received(before, timeout=0.05)  # nothing came
    dut.write(b"I> MB1 (version: 1.4)\n")
    assert console.wait_received(before, timeout=5)
    assert console.expect(rb"MB1", timeout=5).text == "MB1"  # still there to match


def test_consumed_data_is_not_matched_again(dut: Any, console: SerialConsole) -> None:
    dut.write(b"ping\nping\n")
    console.expect(b"ping", timeout=5)
    console.expect(b"ping", timeout=5)
    with pytest.raises(ConsoleTimeout):
        console.expect(b"ping", timeout=0.2)


def test_bad_pattern_fails_at_once_naming_it(
    dut: Any, console: SerialConsole, tmp_path: Path
) -> None:
    dut.write(
        b"[    3.1] Unable to handle kernel NULL pointer dereference\n[    3.2] Call trace:\n"
    )
    # A deadline far beyond the test's own timeout: only the bad pattern can end this wait.
    with pytest.raises(BadPatternSeen) as caught:
        console.expect("login:", timeout=600, stage="login")
    err = caught.value
    assert isinstance(err, DutError)
    assert err.name == "kernel_fault"
    assert err.stage == "login"
    message = str(err)
    assert "kernel_fault" in message and "'login'" in message
    assert "Unable to handle kernel NULL pointer dereference" in message
    assert str(tmp_path / "console.log") in message


def test_bad_pattern_switched_off_for_a_block(dut: Any, console: SerialConsole) -> None:
    dut.write(b"Kernel panic - not syncing: sysrq triggered crash\n")
    with console.disable_bad_pattern("kernel_panic"):
        assert console.expect("not syncing: (.*)", timeout=5).group(1).startswith("sysrq")
    dut.write(b"Kernel panic - not syncing: again\n")
    with pytest.raises(BadPatternSeen):
        console.expect("never", timeout=600)


def test_unknown_bad_pattern_name_is_a_usage_error(console: SerialConsole) -> None:
    with pytest.raises(UsageError, match="kernel_panic"), console.disable_bad_pattern("nope"):
        pass


def test_added_and_temporary_bad_patterns(dut: Any, console: SerialConsole) -> None:
    console.add_bad_pattern(BadPattern("thermal", rb"thermal.*critical", regex=True))
    dut.write(b"thermal zone 3: critical temperature\n")
    with pytest.raises(BadPatternSeen, match="thermal"):
        console.expect("never", timeout=600)
    with console.extra_bad_patterns(OEM_WIZARD_PATTERNS):
        dut.write(b"Please complete system configuration setup on the serial port\n")
        with pytest.raises(BadPatternSeen, match="oem_wizard"):
            console.expect("login:", timeout=600)
    dut.write(b"Welcome to Jetson Initial Configuration\nlogin: ")
    assert "Welcome to Jetson" in console.expect("login:", timeout=5).before


def test_timeout_says_what_for_how_long_last_lines_and_log(
    wait_for: Any, dut: Any, console: SerialConsole, tmp_path: Path
) -> None:
    dut.write(b"".join(b"line %d\r\n" % i for i in range(30)))
    wait_for(lambda: console.last_lines(1) == ["line 29"])
    with pytest.raises(ConsoleTimeout) as caught:
        console.expect([rb"tegra-ubuntu login:", "Ubuntu"], timeout=0.3, stage="login")
    err = caught.value
    assert isinstance(err, DeadlineExceeded)
    message = str(err)
    assert "'tegra-ubuntu login:'" in message and "'Ubuntu'" in message
    assert "b'" not in message  # a bytes pattern is shown as its text
    assert "0.3 s" in message and "'login'" in message
    assert "line 29" in message and "line 10" in message and "line 9\n" not in message
    assert f"full log: {tmp_path / 'console.log'}" in message


def test_a_timeout_message_is_bounded_when_the_board_sends_no_newline(
    wait_for: Any, dut: Any, console: SerialConsole, tmp_path: Path
) -> None:
    data = b"x" * 200_000 + b"\r\n" + b"y" * 200_000
    dut.write(data)
    wait_for(lambda: console.bytes_received == len(data))
    with pytest.raises(ConsoleTimeout) as caught:
        console.expect("login:", timeout=0.1)
    message = str(caught.value)
    assert len(message) < 2000, len(message)
    for char in "xy":  # each line cut to its first characters (the console keeps a window)
        assert re.search(char * 240 + r"\.\.\. \(\d+ more characters, see the log\)", message)
    assert len(caught.value.output) < 1000


def test_log_has_every_byte_with_line_timestamps(wait_for: Any, dut: Any, tmp_path: Path) -> None:
    data = b"".join(b"[%5d.000000] message %d\r\n" % (i, i) for i in range(500)) + b"partial"
    log = tmp_path / "c.log"
    with SerialConsole.open(str(dut.path), log=log) as con:
        dut.write(data)
        wait_for(lambda: con.bytes_received == len(data))
    raw = log.read_bytes()
    assert all(STAMPED.match(line) for line in raw.splitlines())
    assert strip_log_stamps(raw) == data


def test_memory_stays_bounded(dut: Any) -> None:
    block = b"x" * 1023 + b"\n"
    with SerialConsole.open(str(dut.path), max_buffer=1 << 16) as con:
        for _ in range(1024):
            dut.write(block)
        dut.write(b"DONE\n")
        con.expect(b"DONE", timeout=10)
        assert con.bytes_received == 1024 * 1024 + 5
        assert con.buffered <= 1 << 16


def test_port_vanishing_and_returning_is_survived(wait_for: Any, dut: Any, tmp_path: Path) -> None:
    log = tmp_path / "c.log"
    with SerialConsole.open(str(dut.path), log=log, reconnect_timeout=10) as con:
        dut.write(b"before unplug\n")
        con.expect("before unplug", timeout=5)
        dut.vanish()
        wait_for(lambda: not con.connected)
        dut.reappear()
        wait_for(lambda: con.connected)
        dut.write(b"after replug\n")
        assert con.expect("after replug", timeout=5).before == "\n"
    text = log.read_text()
    assert re.search(r"--- console lost at .*, reopened after \d+\.\d\d s ---", text)
    assert text.index("before unplug") < text.index("reopened") < text.index("after replug")


def test_port_that_never_returns_is_lost(dut: Any, tmp_path: Path) -> None:
    log = tmp_path / "c.log"
    with SerialConsole.open(str(dut.path), log=log, reconnect_timeout=0.3) as con:
        dut.write(b"last words\n")
        con.expect("last words", timeout=5)
        dut.vanish()
        with pytest.raises(ConsoleLost) as caught:
            con.expect("login:", timeout=600)
        assert isinstance(caught.value, BenchError)
        assert str(log) in str(caught.value) and "not back after 0.3 s" in str(caught.value)
        with pytest.raises(ConsoleLost):
            con.expect("anything", timeout=600)
    assert "not back after" in log.read_text()


def test_port_missing_at_open_is_lost(tmp_path: Path) -> None:
    with pytest.raises(ConsoleLost, match="cannot open"):
        SerialConsole.open(str(tmp_path / "ttyNOPE"))


def test_sendline_writes_to_the_port(dut: Any, console: SerialConsole) -> None:
    console.sendline("uname -r")
    assert dut.read(9) == b"uname -r\n"


def test_secret_sendline_is_masked_if_echoed(
    dut: Any, console: SerialConsole, tmp_path: Path
) -> None:
    console.sendline("hunter2-secret", secret=True)
    assert dut.read(15) == b"hunter2-secret\n"
    dut.write(b"echoed hunter2-secret\nprompt$ ")
    console.expect(r"\$ $", timeout=5)
    assert "hunter2" not in "".join(console.last_lines())
    console.close()
    assert b"hunter2" not in (tmp_path / "console.log").read_bytes()


def test_last_lines(wait_for: Any, dut: Any, console: SerialConsole) -> None:
    dut.write(b"one\r\ntwo\r\nthree\r\nfour")
    wait_for(lambda: console.bytes_received == 21)
    assert console.last_lines(3) == ["two", "three", "four"]


def test_attached_file_descriptor(dut: Any) -> None:
    fd = os.open(str(dut.path), os.O_RDWR | os.O_NOCTTY)
    with SerialConsole(fd) as con:
        dut.write(b"over an fd\n")
        con.expect("over an fd", timeout=5)
        con.sendline("hi")
        assert dut.read(3) == b"hi\n"


def test_attached_pyserial_object_and_url_without_fileno() -> None:
    import serial

    with SerialConsole(serial.serial_for_url("loop://", timeout=0)) as con:
        con.sendline("looped back")
        assert con.expect("looped (back)", timeout=5).group(1) == "back"
    with SerialConsole.open("loop://") as con:
        con.sendline("via url")
        con.expect("via url", timeout=5)


@pytest.mark.parametrize("timeout", [float("inf"), float("nan"), -1.0, 1e300])
def test_a_timeout_no_timer_can_hold_is_refused_at_once(
    dut: Any, console: SerialConsole, timeout: float
) -> None:
    with pytest.raises(UsageError, match="timeout"):
        console.expect("never", timeout=timeout)
    with pytest.raises(UsageError, match="timeout"):
        console.write(b"x", timeout=timeout)
