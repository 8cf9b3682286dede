"""boardctl, RCM detection and the EEPROM read against the simulated bench's in-tree tools."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_jetson.catalogue import T234, T264
from pytest_jetson.drivers.boardctl import Boardctl
from pytest_jetson.drivers.eeprom import read_boardid
from pytest_jetson.drivers.side import LocalSide
from pytest_jetson.drivers.usb import default_backend, find_rcm, list_nvidia, wait_for_rcm
from pytest_jetson.errors import BenchError, ConfigError, DeadlineExceeded
from pytest_jetson.sim.host import SimDut, SimHost

FAST = 20.0
"""Simulated tools run this many times faster than real ones."""


@pytest.fixture
def host(tmp_path: Path) -> Iterator[SimHost]:
    with SimHost(tmp_path / "sim") as sim:
        yield sim


def processes_mentioning(text: str) -> list[int]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            raw = cmdline.read_bytes()
            state = (cmdline.parent / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text.encode() in raw and state not in ("Z", "X"):
            found.append(int(cmdline.parent.name))
    return found


@pytest.mark.parametrize(
    ("board", "release", "targets"),
    [
        ("orin-agx", "R36.2.0", ("topo", "orin-slt", "concord")),
        ("thor-agx", "R38.4.0", ("topo", "thor-jetson-module")),
        ("thor-agx", "R39.2.0", ("topo", "orin-jetson", "thor-jetson-module")),
    ],
)
def test_targets_per_release(
    host: SimHost, board: str, release: str, targets: tuple[str, ...]
) -> None:
    dut = host.add_dut("dut", board, release=release, speed=FAST)
    assert set(Boardctl(LocalSide(dut.lft), "topo").targets()) == set(targets)


def test_recovery_puts_the_dut_in_rcm_on_its_port(host: SimHost) -> None:
    dut = host.add_dut("orin", "orin-agx", speed=FAST)
    backend = host.usb_backend()
    assert find_rcm(T234, usb_port=dut.usb_port, backend=backend) is None
    result = Boardctl(LocalSide(dut.lft), dut.boardctl_target, timeout=30).recovery()
    assert "Recovery mode done." in result.output
    device = wait_for_rcm(T234, usb_port=dut.usb_port, timeout=10, poll=0.05, backend=backend)
    assert (device.vid, device.pid, device.port_path) == (0x0955, 0x7023, dut.usb_port)
    assert str(device) == f"0955:7023 @ {dut.usb_port} (AGX Orin in recovery)"
    assert find_rcm(T264, usb_port=None, backend=backend) is None


def test_unlisted_target_is_refused_before_touching_the_board(host: SimHost) -> None:
    dut = host.add_dut("orin", "orin-agx", release="R36.2.0", speed=FAST)
    before = dut.state().mode
    with pytest.raises(ConfigError) as info:
        Boardctl(LocalSide(dut.lft), "orin-jetson").recovery()
    assert "'orin-jetson'" in str(info.value)
    assert "topo, orin-slt, concord" in str(info.value)
    assert dut.state().mode == before


def test_only_the_in_tree_boardctl_is_used(host: SimHost, tmp_path: Path) -> None:
    dut = host.add_dut("orin", "orin-agx", speed=FAST)
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    marker = tmp_path / "path-boardctl-ran"
    (fake_bin / "boardctl").write_text(f"#!/bin/sh\ntouch {marker}\n")
    (fake_bin / "boardctl").chmod(0o755)
    ctl = Boardctl(LocalSide(dut.lft), "topo", env={"PATH": f"{fake_bin}:{os.environ['PATH']}"})
    assert ctl.path == dut.lft / "tools" / "board_automation" / "boardctl"
    ctl.status()
    assert not marker.exists()


def test_failing_boardctl_raises_a_bench_error_with_its_output(host: SimHost) -> None:
    dut = host.add_dut("orin", "orin-agx", release="R36.2.0", speed=FAST)
    with pytest.raises(BenchError) as info:
        Boardctl(LocalSide(dut.lft), "orin-slt", timeout=30).power_on()
    assert "exit 1" in str(info.value)
    assert "No debugger found!" in str(info.value)
    assert "No debugger found!" in info.value.output


def test_hung_boardctl_is_killed_with_its_process_group(host: SimHost, tmp_path: Path) -> None:
    dut = host.add_dut("orin", "orin-agx", faults=("boardctl_hang",), speed=FAST)
    log = tmp_path / "boardctl.log"
    ctl = Boardctl(LocalSide(dut.lft), "topo", timeout=0.5, grace=0.3, log=log)
    with pytest.raises(DeadlineExceeded) as info:
        ctl.recovery()
    message = str(info.value)
    assert "boardctl -t topo recovery" in message
    assert "Powering off the board." in message
    assert str(log) in message
    assert processes_mentioning(str(dut.lft)) == []


def test_two_duts_on_one_host_are_never_confused(host: SimHost) -> None:
    first = host.add_dut("orin-a", "orin-agx", speed=FAST)
    second = host.add_dut("orin-b", "orin-agx", speed=FAST)
    assert first.usb_port != second.usb_port
    backend = host.usb_backend()
    Boardctl(LocalSide(second.lft), "topo", timeout=30).recovery()
    assert find_rcm(T234, usb_port=first.usb_port, backend=backend) is None
    found = find_rcm(T234, usb_port=second.usb_port, backend=backend)
    assert found is not None and found.port_path == second.usb_port
    Boardctl(LocalSide(first.lft), "topo", timeout=30).recovery()
    found = find_rcm(T234, usb_port=first.usb_port, backend=backend)
    assert found is not None and found.port_path == first.usb_port
    with pytest.raises(BenchError) as info:
        find_rcm(T234, usb_port=None, backend=backend)
    assert "usb_port" in str(info.value)
    assert first.usb_port in str(info.value) and second.usb_port in str(info.value)


def test_no_rcm_lists_devices_seen_and_the_boardctl_output(host: SimHost) -> None:
    dut = host.add_dut("orin", "orin-agx", faults=("no_rcm",), speed=FAST)
    result = Boardctl(LocalSide(dut.lft), "topo", timeout=30).recovery()
    with pytest.raises(DeadlineExceeded) as info:
        wait_for_rcm(
            T234,
            usb_port=dut.usb_port,
            timeout=0.3,
            poll=0.05,
            backend=host.usb_backend(),
            boardctl_output=result.output,
        )
    message = str(info.value)
    assert f"on USB port {dut.usb_port} within 0.3 s" in message
    assert "0955:7?23" in message
    assert f"0955:7020 @ {dut.usb_port} (booted Jetson (7020))" in message
    assert "(TOPO MCU)" in message
    assert "Recovery mode done." in message


def test_manual_recovery_failure_says_which_buttons(host: SimHost) -> None:
    dut = host.add_dut("orin", "orin-agx", speed=FAST)
    with pytest.raises(DeadlineExceeded) as info:
        wait_for_rcm(
            T234,
            usb_port=dut.usb_port,
            timeout=0.1,
            poll=0.05,
            backend=host.usb_backend(),
            manual=True,
        )
    assert "hold the RECOVERY button, press and release RESET" in str(info.value)


def test_rcm_on_another_port_is_pointed_out(host: SimHost) -> None:
    dut = host.add_dut("orin", "orin-agx", speed=FAST)
    Boardctl(LocalSide(dut.lft), "topo", timeout=30).recovery()
    with pytest.raises(DeadlineExceeded) as info:
        wait_for_rcm(T234, usb_port="2-1", timeout=0.1, poll=0.05, backend=host.usb_backend())
    assert f"on another port ({dut.usb_port})" in str(info.value)


def test_default_backend_is_libusb_or_a_clear_error() -> None:
    import usb.backend.libusb1

    if usb.backend.libusb1.get_backend() is None:
        with pytest.raises(BenchError, match="libusb not found"):
            default_backend()
        with pytest.raises(BenchError, match="libusb not found"):
            list_nvidia()
    else:
        assert isinstance(list_nvidia(), tuple)


def in_recovery(dut: SimDut) -> SimDut:
    Boardctl(LocalSide(dut.lft), dut.boardctl_target, timeout=30).recovery()
    return dut


def test_eeprom_read_parses_the_simulated_thor(host: SimHost, tmp_path: Path) -> None:
    dut = in_recovery(host.add_dut("thor", "thor-agx", release="R39.2.0", speed=FAST))
    log = tmp_path / "eeprom.log"
    reading = read_boardid(LocalSide(dut.lft), timeout=60, log=log)
    board = reading.board_id
    assert (board.board_id, board.sku, board.baseboard_id) == ("3834", "0008", "4071")
    assert board.board == "jetson-agx-thor-devkit"
    assert board.hwchipid == "0x26"
    assert "--- Parsing board ID (3834) succeeded." in reading.output
    assert reading.log_path == log and "Parsing baseboard EEPROM:" in log.read_text()


def test_eeprom_read_without_rcm_names_nvidias_error(host: SimHost) -> None:
    dut = host.add_dut("orin", "orin-agx", speed=FAST)
    with pytest.raises(BenchError) as info:
        read_boardid(LocalSide(dut.lft), timeout=60)
    message = str(info.value)
    assert "exit 5" in message
    assert "*** Error: No Jetson device found." in message
    assert "not in recovery" in message


def test_eeprom_read_with_two_duts_in_rcm_explains_the_limit(host: SimHost) -> None:
    first = in_recovery(host.add_dut("orin-a", "orin-agx", speed=FAST))
    in_recovery(host.add_dut("orin-b", "orin-agx", speed=FAST))
    with pytest.raises(BenchError) as info:
        read_boardid(LocalSide(first.lft), timeout=60)
    assert "exit 6" in str(info.value)
    assert "leave only the DUT in recovery" in str(info.value)
