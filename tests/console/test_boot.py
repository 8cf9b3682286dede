"""Boot validation, login and shell commands over a real pty with a scripted DUT."""

from __future__ import annotations

import os
import re
import select
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_jetson.catalogue import T234, T264
from pytest_jetson.console import SerialConsole
from pytest_jetson.console.boot import (
    STAGE_NAMES,
    BootStageFailed,
    BootStageTimeout,
    CommandFailed,
    LoginFailed,
    boot_stages,
    login,
    run,
    validate_boot,
)
from pytest_jetson.errors import DutError, UsageError

T234_LOG = [
    b"[0000.063] I> MB1 (version: 1.4.0.4-t234-54845784-e89ea9bc)\r\n",
    b"[0000.070] I> Boot-mode : Coldboot\r\n",
    b"[0000.075] I> Boot_device: QSPI_FLASH instance: 0\r\n",
    b"[0004.512] I> MB2 (version: 0.0.0.0-t234-54845784-22833a33)\r\n",
    b"[0004.600] I> Task: Load TOS\r\n",
    b"I/TC: OP-TEE version: 4.2\r\nCPU switching to normal world boot\r\n",
    b"Jetson UEFI firmware (version 36.4.4-gcid-41062509 built on 2025-06-16T15:25:51+00:00)\r\n",
    b"L4TLauncher: Attempting Direct Boot\r\nEFI stub: Booting Linux Kernel...\r\n",
    b"[    0.000000] Booting Linux on physical CPU 0x0000000000 [0x410fd421]\r\n",
    b"[    0.000000] Linux version 5.15.148-tegra (buildbrain@mobile-u64-6354-d7000)\r\n",
    b"[    0.000000] Machine model: NVIDIA Jetson AGX Orin Developer Kit\r\n",
    b"[  OK  ] Started Journal Service.\r\n",
    b"\r\nUbuntu 22.04.5 LTS tegra-ubuntu ttyTCU0\r\n\r\ntegra-ubuntu login: ",
]
T264_LOG = [
    b"PSC-ROM: boot\r\nHPSE: ok\r\nMB1: starting (t264)\r\n",
    b"MB2: loading\r\n",
    b"Jetson UEFI firmware (version 38.4.0-gcid-43443517 built on 2025-11-01T00:00:00+00:00)\r\n",
    b"L4TLauncher: Attempting Direct Boot\r\n",
    b"[    0.000000] Linux version 6.8.12-tegra (buildbrain@mobile)\r\n",
    b"[    0.000000] Machine model: NVIDIA Jetson AGX Thor Developer Kit\r\n",
    b"\r\nUbuntu 24.04.3 LTS thor ttyUTC0\r\n\r\nthor login: ",
]
PANIC = b"[    2.345678] Kernel panic - not syncing: VFS: Unable to mount root fs\r\n"
WIZARD = (
    b"Please complete system configuration setup on the serial port provided by "
    b"Jetson's USB device mode connection.\r\n"
)


@pytest.fixture
def console(dut: Any, tmp_path: Path) -> Iterator[SerialConsole]:
    with SerialConsole.open(str(dut.path), log=tmp_path / "boot.log") as con:
        yield con


def play(dut: Any, chunks: list[bytes]) -> None:
    for chunk in chunks:
        dut.write(chunk)


def test_t234_boot_gives_a_timeline_in_stage_order(dut: Any, console: SerialConsole) -> None:
    reset = time.monotonic()
    play(dut, T234_LOG)
    timeline = validate_boot(console, T234, user_staged=True, start=reset)
    assert tuple(timeline.as_dict()) == STAGE_NAMES == ("mb1", "mb2", "uefi", "kernel", "login")
    seconds = [mark.seconds for mark in timeline.marks]
    assert seconds == sorted(seconds) and seconds[0] >= 0
    assert "36.4.4-gcid-41062509" in timeline.marks[2].line
    assert timeline["login"] == timeline.marks[-1].seconds
    assert not timeline.oem_wizard


def test_t264_boot_with_tolerant_markers(dut: Any, console: SerialConsole) -> None:
    play(dut, T264_LOG)
    timeline = validate_boot(console, T264, user_staged=True)
    assert [mark.name for mark in timeline.marks] == list(STAGE_NAMES)
    assert timeline.marks[-1].line == "thor login:"


def test_panic_in_the_kernel_stage_fails_at_once_naming_kernel(
    dut: Any, console: SerialConsole
) -> None:
    play(dut, [*T234_LOG[:10], PANIC])
    # Deadlines far beyond the test timeout: only the panic can end the wait.
    deadlines = dict.fromkeys(STAGE_NAMES, 900.0)
    with pytest.raises(BootStageFailed) as caught:
        validate_boot(console, T234, user_staged=True, deadlines=deadlines)
    err = caught.value
    assert isinstance(err, DutError)
    assert (err.stage, err.awaited, err.pattern_name) == ("kernel", "login", "kernel_panic")
    assert "boot failed in stage 'kernel'" in str(err)
    assert "Unable to mount root fs" in str(err) and str(err.log_path) in str(err)


def test_oem_wizard_fails_when_a_user_was_staged(dut: Any, console: SerialConsole) -> None:
    play(dut, [*T234_LOG[:-1], WIZARD])
    with pytest.raises(BootStageFailed) as caught:
        validate_boot(console, T234, user_staged=True, deadlines={"login": 900.0})
    assert (caught.value.pattern_name, caught.value.awaited) == ("oem_wizard", "login")


def test_oem_wizard_is_the_login_stage_when_no_user_was_staged(
    dut: Any, console: SerialConsole
) -> None:
    play(dut, [*T234_LOG[:-1], WIZARD])
    timeline = validate_boot(console, T234, user_staged=False)
    assert timeline.oem_wizard
    assert "login" in timeline.as_dict()


def test_stage_deadline_names_the_stage(dut: Any, console: SerialConsole) -> None:
    play(dut, T234_LOG[:6])
    with pytest.raises(BootStageTimeout) as caught:
        validate_boot(console, T234, user_staged=True, deadlines={"uefi": 0.3})
    assert caught.value.stage == "uefi"
    assert "boot stage 'uefi' not reached" in str(caught.value)
    assert "CPU switching to normal world boot" in str(caught.value)


def test_unknown_stage_in_deadlines_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="mb1, mb2, uefi, kernel, login"):
        boot_stages(T234, deadlines={"bootloader": 3.0})


class ScriptedShell:
    """The DUT's getty and shell on the master side: enough for login() and run()."""

    def __init__(self, dut: Any, password: str) -> None:
        self.dut = dut
        self.password = password
        self.state = "login"
        self.user = ""
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        pending = b""
        while not self._stop:
            if not select.select([self.dut.master], [], [], 0.05)[0]:
                continue
            pending += os.read(self.dut.master, 4096)
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                self._answer(line.decode())

    def _answer(self, line: str) -> None:
        if self.state == "login":
            if line:
                self.user = line
                self.dut.write(line.encode() + b"\r\nPassword: ")
                self.state = "password"
            else:
                self.dut.write(b"\r\n\r\ntegra-ubuntu login: ")
        elif self.state == "password":  # not echoed, like a real password prompt
            if line == self.password:
                self.state = "shell"
                self.dut.write(b"\r\n" + self.prompt())
            else:
                self.state = "login"
                self.dut.write(b"\r\n\r\nLogin incorrect\r\ntegra-ubuntu login: ")
        else:
            self.dut.write(line.encode() + b"\r\n")  # the tty echo
            status = 0
            for command in line.split("; "):
                words = command.split()
                if words[0] == "echo":
                    text = " ".join(words[1:]).replace("''", "").replace("$?", str(status))
                    self.dut.write(text.encode() + b"\r\n")
                    status = 0
                elif command == "uname -r":
                    self.dut.write(b"5.15.148-tegra\r\n")
                    status = 0
                else:
                    self.dut.write(f"bash: {words[0]}: command not found\r\n".encode())
                    status = 127
            self.dut.write(self.prompt())

    def prompt(self) -> bytes:
        return f"{self.user}@tegra-ubuntu:~$ ".encode()

    def stop(self) -> None:
        self._stop = True
        self._thread.join()


@pytest.fixture
def shell(dut: Any) -> Iterator[ScriptedShell]:
    server = ScriptedShell(dut, "s3cret-pw")
    yield server
    server.stop()


def test_login_and_run_never_log_the_password(
    shell: ScriptedShell, console: SerialConsole, tmp_path: Path
) -> None:
    login(console, "ubuntu", "s3cret-pw", prompt_timeout=5)
    assert run(console, "uname -r", timeout=5) == "5.15.148-tegra\n"
    with pytest.raises(CommandFailed) as caught:
        run(console, "nvbootctrl dump-slots-info", timeout=5)
    assert caught.value.status == 127 and "command not found" in caught.value.output
    assert "command not found" in run(console, "frobnicate", timeout=5, check=False)
    console.close()
    log = (tmp_path / "boot.log").read_text()
    assert "s3cret-pw" not in log
    assert re.search(r"\| 5\.15\.148-tegra", log)


def test_wrong_password_is_a_login_failure(shell: ScriptedShell, console: SerialConsole) -> None:
    with pytest.raises(LoginFailed, match="refused") as caught:
        login(console, "ubuntu", "pw-XYZZY", prompt_timeout=5)
    assert "XYZZY" not in str(caught.value) and "XYZZY" not in caught.value.output
