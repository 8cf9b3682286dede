"""One simulated host shared by several processes (xdist workers, sessions at the same time):
one bus, one debugger per DUT, trees built once, stale state of dead processes wiped."""

from __future__ import annotations

import signal
import subprocess
import sys
import types
from pathlib import Path

import pytest

from pytest_jetson.errors import UsageError
from pytest_jetson.sim.host import SimHost, console_alive
from pytest_jetson.sim.hostdir import Membership, live_members, sweep_stale
from pytest_jetson.sim.state import host_state_dirs
from pytest_jetson.sim.usb import PID_TOPO
from tests.helpers import alive

BOARDCTL = "tools/board_automation/boardctl"
# Another process on the same host: adds a DUT, says where it is, waits for stdin to close.
OTHER = """
import sys
from pathlib import Path
from pytest_jetson.sim.host import SimHost
host = SimHost.shared(Path(sys.argv[1]))
dut = host.add_dut(sys.argv[2], "orin-agx", speed=50.0, tree_name=sys.argv[3])
if sys.argv[4] == "recovery":
    dut.store.replace(mode="recovery")
print(dut.usb_port, dut.boardctl_serial, host.console_pids()[dut.name], flush=True)
sys.stdin.read()
host.close()
"""
JOIN = """
import sys
from pathlib import Path
from pytest_jetson.sim.hostdir import Membership
Membership.join(Path(sys.argv[1]))
print("joined", flush=True)
sys.stdin.read()
"""


def _other(root: Path, name: str, *, tree: str = "", mode: str = "on") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", OTHER, str(root), name, tree or name, mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_two_processes_see_one_bus_and_each_others_debuggers(
    tmp_path: Path, kit: types.SimpleNamespace
) -> None:
    root = tmp_path / "host"
    other = _other(root, "far")
    assert other.stdout is not None
    far_port, far_serial, far_console = other.stdout.readline().split()
    host = SimHost.shared(root)
    try:
        near = host.add_dut("near", "thor-agx", release="R38.4.0", speed=50.0)
        assert (far_port, near.usb_port) == ("1-4", "1-5")  # numbered host-wide
        topos = [d for d in host.usb_backend().enumerate_devices() if d.pid == PID_TOPO]
        assert sorted(d.serial for d in topos) == sorted([far_serial, near.boardctl_serial])

        # R38.4's boardctl in this process's tree sees the other process's debugger too.
        refused = kit.run_tool(near, BOARDCTL, "-t", "thor-jetson-module", "recovery")
        assert refused.stderr.splitlines()[-1] == (
            "Exception: Multiple (2) debuggers detected! Serial number or index is required."
        )
        # Driving the other process's board by its serial puts it in recovery on its port...
        driven = kit.run_tool(near, BOARDCTL, "-t", "topo", "-s", far_serial, "recovery")
        assert driven.returncode == 0, driven.stderr
        near.store.replace(mode="recovery")
        # ...and nvautoflash sees both Jetsons: only --usb-instance picks one.
        both = kit.run_tool(near, "nvautoflash.sh", "--print_boardid")
        assert both.returncode == 6 and "2 connections found" in both.stdout
        picked = kit.run_tool(near, "nvautoflash.sh", "--print_boardid", "--usb-instance", far_port)
        assert "--- Parsing board ID (3701) succeeded." in picked.stdout
        assert "jetson-agx-orin-devkit found." in picked.stdout

        other.communicate("", timeout=30)  # the other process leaves: its DUT stays
        assert not alive(int(far_console))
        assert root.is_dir() and len(host_state_dirs(host.host_dir)) == 2
    finally:
        if other.poll() is None:
            other.kill()
        host.close()
    assert not root.exists()  # the last process left: the host is gone


def test_a_dut_another_process_added_is_attached_as_it_was_left(tmp_path: Path) -> None:
    root = tmp_path / "host"
    first, second = SimHost.shared(root), SimHost.shared(root)
    try:
        a = first.add_dut("a", "orin-agx", tree_name="orin")
        a.store.replace(mode="recovery")
        first.release("a")  # as a session does before it frees the DUT's lock
        assert not console_alive(a.state_dir)

        again = second.add_dut("a", "orin-agx", faults=("flash_fail",), tree_name="orin")
        assert again.state().in_rcm and again.state().faults == ("flash_fail",)
        assert (again.usb_port, again.lft) == (a.usb_port, a.lft)
        assert console_alive(again.state_dir) and Path(again.console_port).is_symlink()
        b = second.add_dut("b", "orin-agx", tree_name="orin")  # the tree is built once
        assert b.lft == a.lft and b.usb_port == "1-5"
        with SimHost.shared(root) as third, pytest.raises(UsageError, match="as a orin-agx"):
            third.add_dut("b", "thor-agx")
    finally:
        first.close()
        assert root.is_dir() and len(live_members(root)) == 1  # the second one is still here
        second.close()
    assert not root.exists()


def test_a_host_whose_processes_all_died_is_wiped_before_use(
    tmp_path: Path, kit: types.SimpleNamespace
) -> None:
    root = tmp_path / "host"
    other = _other(root, "ghost", mode="recovery")
    assert other.stdout is not None
    _, _, console_pid = other.stdout.readline().split()
    other.send_signal(signal.SIGKILL)
    other.wait()
    assert root.is_dir()  # a killed process cannot clean up

    with SimHost.shared(root) as host:
        assert host.wiped_stale
        assert host_state_dirs(host.host_dir) == []
        assert host.usb_backend().enumerate_devices() == []  # no board left in recovery
        ghost = host.add_dut("ghost", "orin-agx")
        assert ghost.state().mode == "on" and ghost.usb_port == "1-4"
        kit.wait_for(lambda: not alive(int(console_pid)), 10, "the console to die with it")
    assert not root.exists()


def test_hosts_left_by_killed_processes_are_swept_live_ones_kept(tmp_path: Path) -> None:
    dead_root, live_root = tmp_path / "pytest-jetson-sim-dead", tmp_path / "pytest-jetson-sim-live"
    joined = subprocess.Popen(
        [sys.executable, "-c", JOIN, str(dead_root)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert joined.stdout is not None and joined.stdout.readline() == b"joined\n"
    joined.kill()
    joined.wait()
    live = Membership.join(live_root)
    try:
        assert dead_root.is_dir()
        assert sweep_stale(tmp_path, "pytest-jetson-sim-") == [dead_root]
        assert not dead_root.exists() and live_root.is_dir()
    finally:
        assert live.leave()
    assert not live_root.exists()
