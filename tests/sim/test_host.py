"""SimHost orchestration: DUTs, profiles, faults, and no process or pty left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import types
from pathlib import Path

import pytest

from pytest_jetson.errors import UsageError
from pytest_jetson.profile import load_profile
from pytest_jetson.sim.faults import FAULTS
from pytest_jetson.sim.host import SimHost
from tests.helpers import alive

OWNER = """
import sys
from pathlib import Path
from pytest_jetson.sim.host import SimHost
host = SimHost(Path(sys.argv[1]))
dut = host.add_dut("orin", "orin-agx")
print(host.console_pids()["orin"], dut.console_port, flush=True)
sys.stdin.read()
"""


def test_profile_points_at_the_tree_and_matches_the_eeprom(host: SimHost) -> None:
    dut = host.add_dut("thor", "thor-agx", release="R39.2.0")
    profile = load_profile(dut.profile_path)
    assert profile.bsp_image is not None
    assert profile.bsp_image.lft.resolve() == dut.lft.resolve()
    assert profile.bsp_image.version == "R39.2.0"
    assert (profile.reference_devkit.module.sku, profile.reference_devkit.module.revision) == (
        "0008",
        "400",
    )
    assert profile.board == "jetson-agx-thor-devkit" and profile.boot_device == "external"
    assert profile.chip.catalogue_id == "t264"
    assert (dut.lft / "l4t_initrd_flash.sh").is_symlink()


def test_duts_get_distinct_ports_and_consoles(host: SimHost) -> None:
    a = host.add_dut("a", "orin-agx")
    b = host.add_dut("b", "orin-nano")
    assert a.usb_port != b.usb_port
    assert Path(b.console_port).name == "ttyUSB0"
    assert os.readlink(a.console_port) != os.readlink(b.console_port)
    with pytest.raises(UsageError, match="already exists"):
        host.add_dut("a", "orin-agx")


def test_a_port_hint_holds_whichever_dut_arrives_first(host: SimHost) -> None:
    """A board keeps its hinted port when free (its plan's --usb-instance, hence its digest,
    do not depend on arrival order); a taken hint falls back to the first free port."""
    nano = host.add_dut("nano", "orin-nano", port_hint="1-5")
    orin = host.add_dut("orin", "orin-agx", port_hint="1-4")
    late = host.add_dut("late", "orin-agx", port_hint="1-4")
    assert (nano.usb_port, orin.usb_port, late.usb_port) == ("1-5", "1-4", "1-6")


def test_unknown_fault_lists_the_valid_ones(host: SimHost) -> None:
    with pytest.raises(UsageError, match="slow_boot"):
        host.add_dut("x", "orin-agx", faults=("melt",))
    assert len(FAULTS) == 22


def test_tree_and_eeprom_faults(host: SimHost) -> None:
    dut = host.add_dut(
        "x", "orin-agx", faults=("image_drift", "missing_initrd", "eeprom_sku_mismatch")
    )
    kernel = (dut.lft / "kernel" / "Image").read_bytes()
    assert (dut.lft / "rootfs" / "boot" / "Image").read_bytes() != kernel
    assert not (dut.lft / "bootloader" / "l4t_initrd.img").exists()
    assert not (dut.lft / "rootfs" / "boot" / "initrd").exists()
    assert dut.state().eeprom.sku == "0005" != dut.board.eeprom.sku
    empty = host.add_dut("y", "thor-agx", faults=("eeprom_empty",))
    assert (empty.state().eeprom.sku, empty.state().eeprom.fab) == ("", "")


def test_close_stops_consoles_and_removes_ports(tmp_path: Path) -> None:
    host = SimHost(tmp_path)
    dut = host.add_dut("orin", "orin-agx")
    pid = host.console_pids()["orin"]
    assert alive(pid)
    host.close()
    host.close()
    assert not alive(pid)
    assert not os.path.lexists(dut.console_port)
    with pytest.raises(UsageError):
        host.add_dut("again", "orin-agx")


def test_consoles_die_with_a_killed_owner(tmp_path: Path, kit: types.SimpleNamespace) -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert owner.stdout is not None
    pid_text, port = owner.stdout.readline().split()
    pid = int(pid_text)
    assert alive(pid) and os.path.islink(port)
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    kit.wait_for(lambda: not alive(pid), timeout=5.0, what="console process gone")
    kit.wait_for(lambda: not os.path.lexists(port), timeout=5.0, what="console port removed")


@pytest.mark.parametrize(
    ("start", "mode", "release", "user"),
    [
        pytest.param("booted", "on", "R36.4.3", "ubuntu", id="booted"),
        pytest.param("off", "off", "R36.4.3", "ubuntu", id="off"),
        pytest.param("blank", "on", None, None, id="blank"),
        pytest.param("factory", "on", "R36.2.0", None, id="factory"),
    ],
)
def test_a_dut_starts_the_way_it_is_asked_to(
    host: SimHost, start: str, mode: str, release: str | None, user: str | None
) -> None:
    dut = host.add_dut("orin", "orin-agx", start=start, user=("ubuntu", "ubuntu"))  # type: ignore[arg-type]
    state = dut.state()
    assert state.mode == mode
    assert (state.flashed.release if state.flashed else None) == release
    staged = state.flashed.user if state.flashed else None
    assert (staged.username if staged else None) == user
    if start == "booted":
        assert state.flashed is not None and state.flashed.tool == "flash.sh"
        assert state.flashed.board == "jetson-agx-orin-devkit"
        assert (
            state.flashed.nv_tegra_release == (dut.lft / "rootfs/etc/nv_tegra_release").read_text()
        )


def test_an_unknown_start_is_a_usage_error(host: SimHost) -> None:
    with pytest.raises(UsageError, match=r"unknown simulated start 'flashed'.*booted, factory"):
        host.add_dut("orin", "orin-agx", start="flashed")  # type: ignore[arg-type]
