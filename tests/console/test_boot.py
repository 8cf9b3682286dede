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
from pytest_jetson.console import ConsoleLost, SerialConsole
from pytest_jetson.console.boot import (
    STAGE_NAMES,
    BootSequencer,
    BootStageFailed,
    BootStageTimeout,
    CommandFailed,
    LoginFailed,
    boot_stages,
    login,
    run,
    validate_boot,
)
from pytest_jetson.console.capture import CaptureConsole
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


# --- the Tegra Combined UART: text of other processors in the stream (our own words) ---------

TO_BPMP, TO_RCE, TO_TZ, BACK = b"\xff\xe2", b"\xff\xe5", b"\xff\xe4", b"\xff\xe1"
TCU_MB = [
    b"[0000.063] I> MB1 (version: 1.4.0.4-t234-54845784-e89ea9bc)\r\n",
    b"[0004.512] I> MB2 (version: 0.0.0.0-t234-54845784-22833a33)\r\n",
    b"[0004.600] I> Task: Load TOS\r\n" + TO_BPMP + b"bpmp: init complete\n" + BACK,
]
TCU_UEFI = (
    b"Jetson UEFI fi" + TO_BPMP + b"WARNING: clk_disable: pll_e off\n" + BACK + b"rmware "
    b"(version 36.4.4-gcid-41062509 built on 2025-06-16T15:25:51+00:00)\r\n"
)
TCU_KERNEL = [
    b"L4TLauncher: Attempting Direct Boot\r\nEFI stub: Booting Linux Kernel...\r\n",
    b"[    0.000000] Kernel command line: root=/dev/mmcblk0p1 rw cons"
    + TO_BPMP
    + b"WARNING: clk_disable: emc off\n"
    + BACK
    + b"ole=ttyTCU0,115200\r\n",
    b"[    0.000000] Linux version 5.15.148-tegra (buildbrain@mobile)\r\n",
]
TCU_USERSPACE = b"[    5.134567] systemd[1]: Detected architecture arm64.\r\n"
TCU_LOGIN = b"\r\neis860 login: [   27.620287] usb 1-2: new high-speed USB device\r\n"
LOST_UEFI = b"Jetson UEmware (version 36.4.4-gcid-41062509 built on 2025-06-16)\r\n"


def _capture(*parts: bytes | list[bytes]) -> CaptureConsole:
    data = b"".join(b"".join(p) if isinstance(p, list) else p for p in parts)
    return CaptureConsole(data, name="capture")


def _alternate(ours: bytes, other: bytes) -> bytes:
    """Thor: two firmware streams alternating in 4-byte chunks."""
    out = b""
    for at in range(0, max(len(ours), len(other)), 4):
        out += TO_TZ + other[at : at + 4] + BACK + ours[at : at + 4]
    return out


def test_spliced_markers_and_a_prompt_sharing_its_line_are_all_seen() -> None:
    console = _capture(TCU_MB, TCU_UEFI, TCU_KERNEL, TCU_USERSPACE, TCU_LOGIN)
    timeline = validate_boot(console, T234, user_staged=True)
    assert [m.status for m in timeline.marks] == ["seen"] * 5
    assert "36.4.4-gcid-41062509" in timeline.marks[2].line
    assert timeline.marks[-1].line.startswith("eis860 login: [   27.620287] usb 1-2")
    assert all(isinstance(s, float) for s in timeline.as_dict().values())


def test_a_lost_banner_is_not_observed_and_the_boot_goes_on() -> None:
    console = _capture(TCU_MB, LOST_UEFI, TCU_KERNEL, TCU_USERSPACE, TCU_LOGIN)
    timeline = validate_boot(console, T234, user_staged=True)
    statuses = {m.name: m.status for m in timeline.marks}
    assert statuses == {
        "mb1": "seen",
        "mb2": "seen",
        "uefi": "not_observed",
        "kernel": "seen",
        "login": "seen",
    }
    assert timeline.as_dict()["uefi"] == "not_observed"
    uefi = timeline.marks[2]
    assert (uefi.seconds, uefi.line, uefi.at, uefi.seen) == (None, "", None, False)
    with pytest.raises(KeyError):
        timeline["uefi"]


def test_a_uefi_assert_after_a_lost_banner_is_blamed_on_uefi_not_mb2() -> None:
    """The banner lost, the ASSERT in Thor-style 4-byte alternation with OP-TEE text: the
    assert proves UEFI ran, so UEFI fails, not the MB2 stage last seen."""
    assert_line = b"ASSERT [Tcg2Dxe] /edk2/Tcg2Dxe.c(2807): !EFI_ERROR (Status)"
    garbled = _alternate(assert_line, b"VM 8001: I/TC: WARNING (insecure configuration)")
    console = _capture(TCU_MB, LOST_UEFI, garbled + b"\r\n", TCU_KERNEL)
    sequencer = BootSequencer(console, T234, user_staged=True)
    with pytest.raises(BootStageFailed) as caught:
        sequencer.reach("login")
    err = caught.value
    assert (err.stage, err.awaited, err.pattern_name) == ("uefi", "uefi", "uefi_assert")
    assert "boot failed in stage 'uefi'" in str(err)
    assert sequencer.timeline == {"mb1": ANY_FLOAT, "mb2": ANY_FLOAT}
    with pytest.raises(BootStageFailed):  # asked again (the next step item): the same failure
        sequencer.reach("kernel")


def test_a_spliced_panic_with_the_kernel_banners_lost_fails_the_kernel_stage() -> None:
    panic = (
        b"[    2.87] Kernel pa" + TO_RCE + b"Camera-FW started\r\n" + BACK + b"nic - not syncing"
    )
    console = _capture(TCU_MB, LOST_UEFI, b"[    0.000000] Linux ver\r\n", panic + b"\r\n")
    sequencer = BootSequencer(console, T234, user_staged=True)
    with pytest.raises(BootStageFailed) as caught:
        sequencer.settle("kernel")
    assert (caught.value.stage, caught.value.pattern_name) == ("kernel", "kernel_panic")
    assert sequencer.timeline["uefi"] == "not_observed"
    assert "kernel" not in sequencer.timeline


def test_a_panic_after_the_hand_over_fails_the_login_stage() -> None:
    console = _capture(TCU_MB, TCU_UEFI, TCU_KERNEL, TCU_USERSPACE, PANIC)
    sequencer = BootSequencer(console, T234, user_staged=True)
    assert sequencer.settle("kernel").seen
    with pytest.raises(BootStageFailed) as caught:
        sequencer.reach("login")
    assert (caught.value.stage, caught.value.awaited) == ("login", "login")


def test_the_kernel_settles_at_the_login_prompt_when_userspace_is_quiet() -> None:
    console = _capture(TCU_MB, TCU_UEFI, TCU_KERNEL, TCU_LOGIN)
    sequencer = BootSequencer(console, T234, user_staged=True)
    sequencer.settle("kernel")
    assert [m.name for m in sequencer.marks] == list(STAGE_NAMES)
    assert sequencer.reach("login").line.startswith("eis860 login:")


def test_a_capture_that_ends_early_names_the_last_stage_seen() -> None:
    sequencer = BootSequencer(_capture(TCU_MB, LOST_UEFI), T234, user_staged=True)
    with pytest.raises(ConsoleLost, match="the capture ended"):
        sequencer.reach("login")
    last = sequencer.last_seen
    assert last is not None and last.name == "mb2"


def test_a_lost_banner_on_a_live_console(dut: Any, console: SerialConsole) -> None:
    play(dut, [*TCU_MB, LOST_UEFI, *TCU_KERNEL, TCU_USERSPACE, TCU_LOGIN])
    deadlines = dict.fromkeys(STAGE_NAMES, 900.0)  # only the markers can end the waits
    timeline = validate_boot(console, T234, user_staged=True, deadlines=deadlines)
    assert timeline.as_dict()["uefi"] == "not_observed"
    assert timeline["login"] >= timeline["kernel"] >= timeline["mb2"]


class _AnyFloat:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, float)


ANY_FLOAT: Any = _AnyFloat()


def test_each_mark_keeps_what_came_before_it_and_the_hand_over_is_marked() -> None:
    """Boot cycles read the firmware's and the kernel's timers from these."""
    console = _capture(TCU_MB, TCU_UEFI, TCU_KERNEL, TCU_USERSPACE, TCU_LOGIN)
    sequencer = BootSequencer(console, T234, user_staged=True)
    sequencer.reach("login")
    marks = {m.name: m for m in sequencer.marks}
    assert marks["mb1"].before == "[0000.063] "  # its line, up to the marker
    assert "[0004.600] I> Task: Load TOS" in marks["uefi"].before
    handover = sequencer.handover
    assert handover is not None and handover.name == "handover"
    assert handover.line == "[    5.134567] systemd[1]: Detected architecture arm64."
    assert "Linux version 5.15.148-tegra" in handover.before
    assert marks["kernel"].seconds is not None and handover.seconds is not None
    assert handover.seconds >= marks["kernel"].seconds


def test_no_hand_over_mark_when_the_login_prompt_ends_the_kernel() -> None:
    sequencer = BootSequencer(
        _capture(TCU_MB, TCU_UEFI, TCU_KERNEL, TCU_LOGIN), T234, user_staged=True
    )
    sequencer.reach("login")
    assert sequencer.handover is None
