"""boardctl: parsing ``boardctl -h`` target lists (shapes of R36.2, R38.4, R39.2) and the
in-tree tool run against the simulated bench."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pytest_jetson.catalogue import T234, T264
from pytest_jetson.drivers.boardctl import Boardctl, parse_targets
from pytest_jetson.drivers.side import LocalSide
from pytest_jetson.drivers.usb import find_rcm, wait_for_rcm
from pytest_jetson.errors import BenchError, ConfigError, DeadlineExceeded
from pytest_jetson.sim.host import SimHost
from tests.helpers import FAST, processes_mentioning

R36_HELP = """\
Usage: boardctl [options] <command>

  command: reset | recovery | usb_on | usb_off | power_on | power_off | status

Options:
  -h, --help            show this help message and exit
  -t TARGET, --target=TARGET
                        Target board [topo | orin-slt | concord]
  -s SERIAL, --serial=SERIAL
                        Debugger serial number
"""

R39_HELP_WRAPPED_WITH_NOISE = """\
BOARDCTL: version 20260507.1
External distribution detected.
Usage: boardctl [options] <command>

Options:
  -h, --help            show this help message and exit
  -t TARGET, --target=TARGET
                        Target board [topo | orin-jetson | thor-
                        jetson-module]
  -s SERIAL, --serial=SERIAL
"""

R38_NOISE_INSIDE_LIST = """\
BOARDCTL: version 20250517.1
  -t TARGET, --target=TARGET
                        Target board [topo |
External distribution detected.
                        thor-jetson-module]
"""


def test_r36_fixed_list() -> None:
    assert parse_targets(R36_HELP) == ("topo", "orin-slt", "concord")


def test_wrapped_hyphenated_names_and_banner_are_handled() -> None:
    assert parse_targets(R39_HELP_WRAPPED_WITH_NOISE) == (
        "topo",
        "orin-jetson",
        "thor-jetson-module",
    )


def test_stderr_noise_interleaved_in_the_list_is_skipped() -> None:
    assert parse_targets(R38_NOISE_INSIDE_LIST) == ("topo", "thor-jetson-module")


def test_bad_target_error_list_is_understood_and_garbage_gives_nothing() -> None:
    assert parse_targets("Use one of following: [topo | orin-slt | concord]") == (
        "topo",
        "orin-slt",
        "concord",
    )
    assert parse_targets("Segmentation fault") == ()


@pytest.mark.parametrize(
    ("board", "release", "targets"),
    [
        ("orin-agx", "R36.2.0", ("topo", "orin-slt", "concord")),
        ("thor-agx", "R38.4.0", ("topo", "orin-jetson", "thor-jetson-module")),
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
    # The deadline leaves a loaded machine time to start the (Python) tool and hear its first
    # line: the message must quote it (at 0.5 s a loaded machine could still be starting it).
    ctl = Boardctl(LocalSide(dut.lft), "topo", timeout=3.0, grace=0.3, log=log)
    with pytest.raises(DeadlineExceeded) as info:
        ctl.recovery()
    message = str(info.value)
    assert "boardctl -t topo recovery" in message
    assert "Powering off the board." in message
    assert str(log) in message
    assert processes_mentioning(str(dut.lft)) == []


def test_without_its_serial_r36_boardctl_drives_another_board(host: SimHost) -> None:
    """R36.2's ``-i`` defaults to 0: the second DUT's boardctl power-cycles the first board."""
    first = host.add_dut("orin-a", "orin-agx", release="R36.2.0", speed=FAST)
    second = host.add_dut("orin-b", "orin-agx", release="R36.2.0", speed=FAST)
    ctl = Boardctl(LocalSide(second.lft), "topo", timeout=30)
    assert ctl.command("recovery")[1:] == ["-t", "topo", "recovery"]
    ctl.recovery()
    assert first.state().in_rcm and not second.state().in_rcm
    named = Boardctl(LocalSide(second.lft), "topo", timeout=30, serial=second.boardctl_serial)
    assert named.command("power_off")[1:] == [
        "-t",
        "topo",
        "-s",
        second.boardctl_serial,
        "power_off",
    ]
    assert Boardctl(LocalSide(second.lft), "topo", index=1).command("reset")[1:] == [
        "-t",
        "topo",
        "-i",
        "1",
        "reset",
    ]
    named.recovery()
    assert second.state().in_rcm


def test_r38_boardctl_refuses_several_debuggers_without_serial(host: SimHost) -> None:
    first = host.add_dut("thor-a", "thor-agx", release="R38.4.0", speed=FAST)
    host.add_dut("thor-b", "thor-agx", release="R38.4.0", speed=FAST)
    with pytest.raises(BenchError) as info:
        Boardctl(LocalSide(first.lft), "thor-jetson-module", timeout=30).recovery()
    assert "Multiple (2) debuggers detected! Serial number or index is required." in str(info.value)
    assert first.state().mode == "on"
