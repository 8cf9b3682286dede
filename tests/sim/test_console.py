"""The console process on a real pty, read with pyserial: boot log, login, shell, faults."""

from __future__ import annotations

import dataclasses
import os
import re
import types
from typing import Any

import pytest
import serial

from pytest_jetson.sim.bootlog import boot_script
from pytest_jetson.sim.host import SimDut, SimHost
from pytest_jetson.sim.state import power_cycle

BOARDCTL = "tools/board_automation/boardctl"
INITRD = "tools/kernel_flash/l4t_initrd_flash.sh"
USER = "tools/l4t_create_default_user.sh"
PASSWORD = "pw-Zq81"


def _stage_user(dut: SimDut, kit: types.SimpleNamespace, *extra: str) -> None:
    args = ("-u", "qa", "-p", PASSWORD, "--accept-license", *extra)
    assert kit.run_tool(dut, USER, *args).returncode == 0


def _open(dut: SimDut) -> serial.Serial:
    return serial.Serial(dut.console_port, 115200, timeout=0.05)


def _login(port: serial.Serial, kit: types.SimpleNamespace, password: str = PASSWORD) -> bytes:
    port.write(b"qa\r")
    kit.read_until(port, b"Password: ")
    port.write(password.encode() + b"\r")
    return kit.read_until(port, b"$ " if password == PASSWORD else b"login: ")


def test_full_cycle_t234(host: SimHost, kit: types.SimpleNamespace) -> None:
    dut = host.add_dut("orin", "orin-agx", speed=kit.FAST)
    _stage_user(dut, kit)
    with _open(dut) as port:
        assert kit.run_tool(dut, BOARDCTL, "-t", "topo", "recovery").returncode == 0
        assert kit.run_tool(dut, "nvautoflash.sh", "--print_boardid").returncode == 0
        assert kit.read_quiet(port, 0.2) == b""
        assert kit.run_tool(dut, "flash.sh", "jetson-agx-orin-devkit", "internal").returncode == 0
        log = kit.read_until(port, b"tegra-ubuntu login: ").decode()
        stages = [
            "I> MB1 (version: ",
            "I> MB2 (version: ",
            "Jetson UEFI firmware (version 36.4.3-gcid-38968081",
            "L4TLauncher: Attempting Direct Boot",
            "Linux version 5.15.146-tegra",
            "Machine model: NVIDIA Jetson AGX Orin Developer Kit",
            "[  OK  ] ",
            "Ubuntu 22.04.5 LTS tegra-ubuntu ttyTCU0",
        ]
        positions = [log.index(s) for s in stages]
        assert positions == sorted(positions)
        assert "\r\n" in log
        _login(port, kit)
        port.write(b"cat /etc/nv_tegra_release\r")
        out = kit.read_until(port, b"$ ").decode()
        assert "# R36 (release), REVISION: 4.3, GCID: 38968081" in out
        port.write(b"uname -r\r")
        assert "5.15.146-tegra\r\n" in kit.read_until(port, b"$ ").decode()
        port.write(b"echo hello world\r")
        assert "hello world\r\n" in kit.read_until(port, b"hello world\r\n").decode()


@pytest.fixture(scope="module")
def flashed(module_host: SimHost, kit: types.SimpleNamespace) -> SimDut:
    """An AGX Orin flashed with a staged user (no autologin), shared by the fault tests."""
    dut = module_host.add_dut("orin-flashed", "orin-agx", speed=kit.FAST)
    _stage_user(dut, kit)
    dut.store.replace(mode="recovery")
    assert kit.run_tool(dut, "flash.sh", "jetson-agx-orin-devkit", "internal").returncode == 0
    return dut


def _reboot(dut: SimDut, *faults: str) -> None:
    dut.store.update(lambda s: power_cycle(dataclasses.replace(s, faults=faults), "on"))


def test_wrong_password_is_refused(flashed: SimDut, kit: types.SimpleNamespace) -> None:
    with _open(flashed) as port:
        _reboot(flashed)
        kit.read_until(port, b"login: ")
        assert b"Login incorrect" in _login(port, kit, password="nope")


def test_t264_stays_in_recovery_until_reset(host: SimHost, kit: types.SimpleNamespace) -> None:
    dut = host.add_dut("thor", "thor-agx", speed=kit.FAST)
    _stage_user(dut, kit)
    with _open(dut) as port:
        kit.run_tool(dut, BOARDCTL, "-t", "thor-jetson-module", "recovery")
        assert kit.run_tool(dut, INITRD, "jetson-agx-thor-devkit", "external").returncode == 0
        assert kit.read_quiet(port, 0.3) == b""
        assert dut.state().in_rcm
        kit.run_tool(dut, BOARDCTL, "-t", "thor-jetson-module", "reset")
        log = kit.read_until(port, b"tegra-ubuntu login: ").decode()
        assert "Linux version 6.8.12-tegra" in log
        assert "Machine model: NVIDIA Jetson AGX Thor Developer Kit" in log
        assert "Ubuntu 24.04.3 LTS tegra-ubuntu ttyUTC0" in log
        _login(port, kit)
        port.write(b"cat /etc/nv_tegra_release\r")
        assert "# R38 (release), REVISION: 4.0" in kit.read_until(port, b"$ ").decode()


def test_autologin_logs_in_by_itself(host: SimHost, kit: types.SimpleNamespace) -> None:
    dut = host.add_dut("orin", "orin-agx", speed=kit.FAST)
    _stage_user(dut, kit, "-a")
    dut.store.replace(mode="recovery")
    with _open(dut) as port:
        kit.run_tool(dut, "flash.sh", "jetson-agx-orin-devkit", "internal")
        log = kit.read_until(port, b"qa@tegra-ubuntu:~$ ")
        assert b"tegra-ubuntu login: qa (automatic login)" in log


def test_wizard_when_no_user_was_staged(host: SimHost, kit: types.SimpleNamespace) -> None:
    dut = host.add_dut("orin", "orin-agx", speed=kit.FAST)
    with _open(dut) as port:
        kit.run_tool(dut, BOARDCTL, "-t", "topo", "reset")
        log = kit.read_until(port, b"Welcome to Jetson Initial Configuration").decode()
        assert "Please complete system configuration setup on the serial port" in log
        assert "login:" not in log


@pytest.mark.parametrize(
    ("fault", "marker"),
    [
        ("kernel_panic", b"Kernel panic - not syncing: "),
        ("boot_hang", b"Machine model: "),
        ("oem_wizard", b"Welcome to Jetson Initial Configuration"),
    ],
)
def test_boot_faults(
    flashed: SimDut, kit: types.SimpleNamespace, fault: str, marker: bytes
) -> None:
    with _open(flashed) as port:
        _reboot(flashed, fault)
        log = kit.read_until(port, marker) + kit.read_quiet(port, 0.2)
    assert b"login:" not in log
    assert (b"[  OK  ]" in log) == (fault == "oem_wizard")


def test_slow_boot_stretches_the_script(flashed: SimDut) -> None:
    normal = boot_script(dataclasses.replace(flashed.state(), faults=()))
    slow = boot_script(dataclasses.replace(flashed.state(), faults=("slow_boot",)))
    # The same lines; only the firmware and kernel timers in front of them run longer.
    untimed = re.compile(r"^\[[ \d.]+\] ")
    assert [untimed.sub("", e.text) for e in slow] == [untimed.sub("", e.text) for e in normal]
    assert slow[-1].at >= 3 * normal[-1].at

    def handover(script: list[Any]) -> float:  # the kernel timer on systemd's first line
        return float(next(e.text for e in script if "systemd[1]" in e.text)[1:13])

    assert handover(slow) >= 3 * handover(normal)


def test_serial_unplug_comes_back_under_the_same_path(
    flashed: SimDut, kit: types.SimpleNamespace
) -> None:
    with _open(flashed) as port:
        _reboot(flashed, "serial_unplug")
        with pytest.raises(serial.SerialException):
            kit.read_quiet(port, 5.0)
    kit.wait_for(lambda: os.path.exists(flashed.console_port), what="console port back")
    # The host is busy a while before it reopens (longer than the sped-up boot has left).
    assert kit.run_tool(flashed, BOARDCTL, "-h").returncode == 0
    with _open(flashed) as port:
        # The rest of the boot waits for the host to reopen the port (a sped-up boot would
        # otherwise end unheard on a loaded machine): its hand-over and prompt are heard.
        heard = kit.read_until(port, b"login: ")
    assert b"systemd[1]: " in heard and b"EFI stub" not in heard


def test_console_silent_while_off(flashed: SimDut, kit: types.SimpleNamespace) -> None:
    with _open(flashed) as port:
        _reboot(flashed, "slow_boot")
        kit.read_until(port, b"MB1")
        flashed.store.replace(mode="off")
        kit.read_quiet(port, 0.05)
        assert kit.read_quiet(port, 0.3) == b""


def test_a_corrupt_boot_chain_stays_silent_until_a_flash(
    host: SimHost, kit: types.SimpleNamespace
) -> None:
    dut = host.add_dut(
        "orin-corrupt", "orin-agx", speed=kit.FAST, faults=("needs_reflash",), start="booted"
    )
    _stage_user(dut, kit)
    with _open(dut) as port:
        for verbs in (("reset",), ("power_off", "power_on"), ("recovery", "reset")):
            for verb in verbs:
                assert kit.run_tool(dut, BOARDCTL, "-t", "topo", verb).returncode == 0
            assert kit.read_quiet(port, 0.3) == b"", verbs
        assert kit.run_tool(dut, BOARDCTL, "-t", "topo", "recovery").returncode == 0
        assert kit.run_tool(dut, "flash.sh", "jetson-agx-orin-devkit", "internal").returncode == 0
        kit.read_until(port, b"login: ")
