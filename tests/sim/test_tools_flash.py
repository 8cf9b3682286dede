"""nvautoflash.sh, flash.sh and l4t_initrd_flash.sh on simulated DUTs."""

from __future__ import annotations

import os
import signal
import types
from pathlib import Path

import pytest

from pytest_jetson.sim.host import SimDut, SimHost

BOARDCTL = "tools/board_automation/boardctl"
INITRD = "tools/kernel_flash/l4t_initrd_flash.sh"
ORIN_ORDER = [
    "*** Checking ONLINE mode ... OK.",
    "*** Checking target board connection ... 1 connections found.",
    "*** Reading ECID ... FUSELEVEL=fuselevel_production hwchipid=0x23 bootauth=NS",
]
ORIN_PARSE = [
    "--- Reading board information succeeded.",
    "--- Parsing chip_info.bin information succeeded.",
    "Chip SKU(00:00:00:D0) ramcode(00:00:00:02)",
    "Parsing module EEPROM:",
    "--- Parsing board ID (3701) succeeded.",
    "--- Parsing board version (500) succeeded.",
    "--- Parsing board SKU (0000) succeeded.",
    "--- Parsing board REV (J.0) succeeded.",
    "jetson-agx-orin-devkit found.",
]


@pytest.fixture(scope="module")
def orin(module_host: SimHost) -> SimDut:
    return module_host.add_dut("orin", "orin-agx", speed=20)


@pytest.fixture(scope="module")
def thor(module_host: SimHost) -> SimDut:
    return module_host.add_dut("thor", "thor-agx", release="R38.4.0", speed=20)


@pytest.fixture
def only(orin: SimDut, thor: SimDut) -> types.SimpleNamespace:
    """Put exactly one DUT in recovery (the others running), faults cleared."""

    def put(dut: SimDut, *faults: str) -> SimDut:
        for other in (orin, thor):
            other.store.replace(mode="on", faults=(), usb_dropped=False)
        dut.store.replace(mode="recovery", faults=faults)
        return dut

    return types.SimpleNamespace(put=put)


def test_print_boardid_refuses_without_rcm(
    orin: SimDut, thor: SimDut, kit: types.SimpleNamespace
) -> None:
    for dut in (orin, thor):
        dut.store.replace(mode="on")
    result = kit.run_tool(orin, "nvautoflash.sh", "--print_boardid")
    assert result.returncode == 5
    assert "*** Error: No Jetson device found." in result.stderr


def test_print_boardid_orin_lines_in_order(
    orin: SimDut, only: types.SimpleNamespace, kit: types.SimpleNamespace
) -> None:
    only.put(orin)
    result = kit.run_tool(orin, "nvautoflash.sh", "--print_boardid")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:3] == ORIN_ORDER
    assert lines[3].startswith('*** Reading EEPROM ... "') and "dump eeprom cvm cvm.bin" in lines[3]
    assert lines[-len(ORIN_PARSE) :] == ORIN_PARSE
    tegraflash = [ln for ln in lines if ln.startswith("[ ")]
    assert tegraflash and all(ln[10:13] == " ] " for ln in tegraflash)
    assert orin.state().in_rcm


def test_print_boardid_thor_r384_waits_and_reads_baseboard(
    thor: SimDut, only: types.SimpleNamespace, kit: types.SimpleNamespace
) -> None:
    only.put(thor)
    lines = kit.run_tool(thor, "nvautoflash.sh", "--print_boardid").stdout.splitlines()
    assert lines[0] == "Wait 30 seconds for host machine to get Jetson Recovery USB"
    assert "hwchipid=0x26" in lines[3]
    assert lines[-4:] == [
        "--- Parsing board REV (G.5) succeeded.",
        "Parsing baseboard EEPROM:",
        "--- Parsing baseboard ID (4071) succeeded.",
        "jetson-agx-thor-devkit found.",
    ]


def test_print_boardid_too_many_devices(
    orin: SimDut, thor: SimDut, kit: types.SimpleNamespace
) -> None:
    for dut in (orin, thor):
        dut.store.replace(mode="recovery", faults=())
    result = kit.run_tool(orin, "nvautoflash.sh", "--print_boardid")
    assert result.returncode == 6
    assert "*** Error: Too many Jetson devices found." in result.stderr


def test_eeprom_faults_show_in_print_boardid(
    orin: SimDut, only: types.SimpleNamespace, kit: types.SimpleNamespace
) -> None:
    dut = only.put(orin)
    dut.store.replace(
        eeprom=orin.board.eeprom.__class__(**{**orin.board.eeprom.__dict__, "sku": "", "fab": ""})
    )
    try:
        out = kit.run_tool(dut, "nvautoflash.sh", "--print_boardid").stdout
        assert "--- Parsing board SKU () succeeded." in out
        assert "--- Parsing board version () succeeded." in out
    finally:
        dut.store.replace(eeprom=orin.board.eeprom)


def test_flash_sh_refuses_without_rcm(
    orin: SimDut, thor: SimDut, kit: types.SimpleNamespace
) -> None:
    for dut in (orin, thor):
        dut.store.replace(mode="on")
    result = kit.run_tool(orin, "flash.sh", "jetson-agx-orin-devkit", "internal")
    assert result.returncode == 1
    assert "Error: probing the target board failed." in result.stderr


def test_flash_sh_invalid_board(orin: SimDut, kit: types.SimpleNamespace) -> None:
    result = kit.run_tool(orin, "flash.sh", "no-such-board", "internal")
    assert result.returncode == 1
    assert result.stderr.strip() == "Error: Invalid target board - no-such-board."


def test_flash_sh_unrecognized_sku_fails_in_the_conf(
    orin: SimDut, only: types.SimpleNamespace, kit: types.SimpleNamespace
) -> None:
    only.put(orin)
    result = kit.run_tool(orin, "flash.sh", "jetson-agx-orin-devkit", "internal", BOARDSKU="0009")
    assert result.returncode == 1
    assert "Error: Unrecognized module SKU 0009" in result.stderr
    assert "sku(0009)" in result.stdout


def test_flash_sh_flashes_and_t234_boots_the_new_image(
    orin: SimDut, only: types.SimpleNamespace, kit: types.SimpleNamespace
) -> None:
    only.put(orin)
    before = orin.state()
    result = kit.run_tool(orin, "flash.sh", "jetson-agx-orin-devkit", "internal")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "# L4T BSP Information:" in lines and "# R36 , REVISION: 4.3" in lines
    assert "Board ID(3701) version(500) sku(0000) revision(J.0)" in lines
    assert (
        "Chip SKU(00:00:00:D0) ramcode(00:00:00:02) fuselevel(fuselevel_production) board_FAB(500)"
        in lines
    )
    assert lines.index("*** Flashing target device started. ***") < len(lines) - 2
    assert lines[-2:] == [
        "*** The target generic has been flashed successfully. ***",
        "Reset the board to boot from internal eMMC.",
    ]
    after = orin.state()
    assert after.mode == "on" and after.boot_seq == before.boot_seq + 1
    assert after.flashed is not None
    assert (after.flashed.release, after.flashed.board, after.flashed.sku) == (
        "R36.4.3",
        "jetson-agx-orin-devkit",
        "0000",
    )


def test_flash_sh_no_flash_stops_before_flashing(
    orin: SimDut, only: types.SimpleNamespace, kit: types.SimpleNamespace
) -> None:
    only.put(orin)
    result = kit.run_tool(orin, "flash.sh", "--no-flash", "jetson-agx-orin-devkit", "internal")
    assert result.returncode == 0
    assert result.stdout.splitlines()[-1] == "*** no-flash flag enabled. Exiting now... ***"
    assert orin.state().in_rcm


def test_flash_fail_fault(
    orin: SimDut, only: types.SimpleNamespace, kit: types.SimpleNamespace
) -> None:
    only.put(orin, "flash_fail")
    result = kit.run_tool(orin, "flash.sh", "jetson-agx-orin-devkit", "internal")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == "Failed flashing generic."
    assert "flashed successfully" not in result.stdout
    assert orin.state().in_rcm


def test_usb_drop_mid_flash_fault(
    orin: SimDut, only: types.SimpleNamespace, kit: types.SimpleNamespace
) -> None:
    only.put(orin, "usb_drop_mid_flash")
    result = kit.run_tool(orin, "flash.sh", "jetson-agx-orin-devkit", "internal")
    assert result.returncode == 1
    assert "USB communication failed.Check if device is in recovery" in result.stdout
    assert not orin.state().in_rcm
    assert kit.run_tool(orin, BOARDCTL, "-t", "topo", "recovery").returncode == 0
    assert orin.state().in_rcm


def test_flash_hang_fault_hangs_mid_flash(
    orin: SimDut, only: types.SimpleNamespace, kit: types.SimpleNamespace
) -> None:
    only.put(orin, "flash_hang")
    proc = kit.start_tool(orin, "flash.sh", "jetson-agx-orin-devkit", "internal")
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("*** Flashing target device started."):
            break
    with pytest.raises(Exception, match="timed out"):
        proc.wait(timeout=0.5)
    kit.kill_group(proc)


def test_initrd_flash_thor_stays_in_recovery_and_logs(
    thor: SimDut, only: types.SimpleNamespace, kit: types.SimpleNamespace
) -> None:
    only.put(thor)
    boots = thor.state().boot_seq
    result = kit.run_tool(thor, INITRD, "jetson-agx-thor-devkit", "external")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "*  Step 1: Generate flash packages *" in lines
    assert "*  Step 3: Start the flashing process *" in lines
    assert "Flashing finish" in lines and "Successfully flash the external device" in lines
    assert any("flash_bsp_images.py -b jetson-t264" in ln for ln in lines)
    assert lines[-3:-1] == ["Success", "Cleaning up..."]
    assert lines[-1].startswith("Log is saved to Linux_for_Tegra/initrdlog/flash_1-")
    log = thor.lft / "initrdlog" / lines[-1].rsplit("/", 1)[1]
    assert "Flashing success" in log.read_text()
    state = thor.state()
    assert state.in_rcm and state.boot_seq == boots
    assert state.flashed is not None and state.flashed.release == "R38.4.0"


def test_initrd_flash_fail_fault(
    thor: SimDut, only: types.SimpleNamespace, kit: types.SimpleNamespace
) -> None:
    only.put(thor, "flash_fail")
    result = kit.run_tool(thor, INITRD, "jetson-agx-thor-devkit", "external")
    assert result.returncode == 1
    assert "Flash complete (WITH FAILURES)" in result.stdout


def test_initrd_flash_no_device(orin: SimDut, thor: SimDut, kit: types.SimpleNamespace) -> None:
    for dut in (orin, thor):
        dut.store.replace(mode="on")
    result = kit.run_tool(thor, INITRD, "jetson-agx-thor-devkit", "external")
    assert result.returncode == 1
    assert "No devices to flash" in result.stderr


def test_usb_instance_picks_the_dut_among_several(
    orin: SimDut, thor: SimDut, kit: types.SimpleNamespace
) -> None:
    for dut in (orin, thor):
        dut.store.replace(mode="recovery", faults=())
    result = kit.run_tool(
        orin,
        "flash.sh",
        "--no-flash",
        "--usb-instance",
        orin.usb_port,
        "jetson-agx-orin-devkit",
        "internal",
    )
    assert result.returncode == 0, result.stderr
    crowded = kit.run_tool(orin, "flash.sh", "--no-flash", "jetson-agx-orin-devkit", "internal")
    assert crowded.returncode == 1


def test_two_flow_tool_runs_in_one_tree_break_each_other(
    orin: SimDut, only: types.SimpleNamespace, kit: types.SimpleNamespace
) -> None:
    """flash.sh writes system.img, flashcmd.txt and signed files in place: a run that starts
    while another builds in the same tree gets a mix of both and fails (so does the other when
    it is still building once the second has started)."""
    only.put(orin)
    argv = ("--no-flash", "--usb-instance", orin.usb_port, "jetson-agx-orin-devkit", "internal")
    fast = orin.state().speed
    orin.store.replace(speed=0.1)  # a build of about five seconds: caught while it builds
    runs = orin.lft / "bootloader" / ".sim-flash-runs"
    first = kit.start_tool(orin, "flash.sh", *argv)
    try:
        kit.wait_for(lambda: runs.is_dir() and any(runs.iterdir()), what="the first build")
        # The first run is held mid-build (its files half written, as a slow build leaves
        # them) however long the second takes to start on a loaded machine.
        os.killpg(first.pid, signal.SIGSTOP)
        assert any(runs.iterdir()), "the first build ended before it was held"
        orin.store.replace(speed=fast)
        second = kit.start_tool(orin, "flash.sh", *argv)
        second_out, _ = second.communicate(timeout=60)
    finally:
        os.killpg(first.pid, signal.SIGCONT)
        orin.store.replace(speed=fast)
    first_out, _ = first.communicate(timeout=60)
    assert second.returncode == 1, second_out
    assert "changed while it was being signed: another flash runs in this" in second_out
    assert first.returncode in (0, 1), first_out
    assert not any(runs.iterdir())
    alone = kit.run_tool(orin, "flash.sh", *argv)
    assert alone.returncode == 0, alone.stderr


def test_flash_sh_with_fab_set_skips_the_eeprom_read(
    orin: SimDut, only: types.SimpleNamespace, kit: types.SimpleNamespace
) -> None:
    """As the real flash.sh: FAB set, so BOARDID/BOARDSKU/BOARDREV come from the environment
    alone; without BOARDSKU the conf hook stops at an empty SKU."""
    only.put(orin)
    result = kit.run_tool(orin, "flash.sh", "jetson-agx-orin-devkit", "internal", FAB="500")
    assert result.returncode == 1
    assert "Error: Unrecognized module SKU " in result.stderr
    assert "Board ID() version(500) sku() revision()" in result.stdout
    assert "Parsing module EEPROM:" not in result.stdout
    given = {"BOARDID": "3701", "BOARDSKU": "0000", "FAB": "500", "BOARDREV": "J.0"}
    only.put(orin)
    result = kit.run_tool(orin, "flash.sh", "jetson-agx-orin-devkit", "internal", **given)
    assert result.returncode == 0, result.stderr
    assert "Board ID(3701) version(500) sku(0000) revision(J.0)" in result.stdout


def test_flash_sh_layout_follows_rootfs_ab_and_a_missing_kernel_stops_it(
    orin: SimDut, only: types.SimpleNamespace, kit: types.SimpleNamespace
) -> None:
    only.put(orin)
    result = kit.run_tool(orin, "flash.sh", "jetson-agx-orin-devkit", "internal", ROOTFS_AB="1")
    assert result.returncode == 0, result.stderr
    flashed = orin.state().flashed
    assert flashed is not None
    assert (flashed.layout, flashed.rootfs_ab) == ("flash_t234_qspi_sdmmc_rootfs_ab.xml", True)
    image = orin.lft / "kernel" / "Image"
    saved = image.read_bytes()
    image.unlink()
    try:
        only.put(orin)
        result = kit.run_tool(orin, "flash.sh", "jetson-agx-orin-devkit", "internal")
    finally:
        image.write_bytes(saved)
    assert result.returncode == 1
    assert f"Error: missing kernel_image ({image})." in result.stderr


def test_initrd_flow_needs_the_initrd_the_conf_names(
    thor: SimDut, only: types.SimpleNamespace, kit: types.SimpleNamespace
) -> None:
    only.put(thor)
    initrd = thor.lft / "bootloader" / "l4t_initrd.img"
    saved = initrd.read_bytes()
    initrd.unlink()
    try:
        result = kit.run_tool(
            thor,
            INITRD,
            "--external-device",
            "nvme0n1p1",
            "-c",
            "tools/kernel_flash/flash_l4t_t264_nvme.xml",
            "jetson-agx-thor-devkit",
            "external",
        )
    finally:
        initrd.write_bytes(saved)
    assert result.returncode == 1
    assert f"cp: cannot stat '{initrd}'" in result.stderr


def test_build_once_offline_then_flash_only_like_nvidias_two_steps(
    orin: SimDut, thor: SimDut, only: types.SimpleNamespace, kit: types.SimpleNamespace
) -> None:
    """``--flash-only`` flashes what a ``--no-flash`` run saved (without one it fails: the saved
    parameters are missing); ``--no-flash`` with BOARDID/FAB/BOARDSKU/BOARDREV builds offline,
    no device in recovery."""
    (thor.lft / "tools" / "kernel_flash" / "initrdflashparam.txt").unlink(missing_ok=True)
    only.put(thor)
    pinned = ("--usb-instance", thor.usb_port, "jetson-agx-thor-devkit", "external")
    unbuilt = kit.run_tool(thor, INITRD, "--flash-only", *pinned)
    assert unbuilt.returncode == 1
    assert "initrdflashparam.txt: No such file or directory" in unbuilt.stderr
    thor.store.replace(mode="on")
    eeprom = thor.board.eeprom
    identity = {"BOARDID": eeprom.board_id, "FAB": eeprom.fab}
    identity |= {"BOARDSKU": eeprom.sku, "BOARDREV": eeprom.rev}
    built = kit.run_tool(
        thor, INITRD, "--no-flash", "jetson-agx-thor-devkit", "external", **identity
    )
    assert built.returncode == 0, built.stderr
    assert "run with option --flash-only to flash device." in built.stdout
    assert "Step 3" not in built.stdout
    for dut in (orin, thor):  # two Jetsons in recovery: each flash is pinned to its port
        dut.store.replace(mode="recovery", faults=())
    crowded = kit.run_tool(thor, INITRD, "--flash-only", "jetson-agx-thor-devkit", "external")
    assert crowded.returncode == 1 and "Too many devices in RCM mode" in crowded.stdout
    flashed = kit.run_tool(thor, INITRD, "--flash-only", *pinned)
    assert flashed.returncode == 0, flashed.stderr
    assert "Step 1" not in flashed.stdout and "Step 3" in flashed.stdout
    assert thor.state().flashed is not None
    assert thor.state().flashed.tool == "l4t_initrd_flash.sh"


def test_two_flash_only_runs_in_one_tree_share_device_instance_0(
    tmp_path: Path, kit: types.SimpleNamespace
) -> None:
    """Each separate l4t_initrd_flash.sh run flashes as device instance 0 (working folder
    ``temp_initrdflash/bootloader0``, initrd network ``fc00:1:1:0::``): a second run in the
    same tree while one flashes breaks; alone, each flashes from the one build."""
    with SimHost(tmp_path / "bench") as host:
        one = host.add_dut("one", "thor-agx", release="R38.4.0", speed=20, tree_name="t")
        two = host.add_dut("two", "thor-agx", release="R38.4.0", speed=20, tree_name="t")
        eeprom = one.board.eeprom
        identity = {"BOARDID": eeprom.board_id, "FAB": eeprom.fab}
        identity |= {"BOARDSKU": eeprom.sku, "BOARDREV": eeprom.rev}
        board = ("jetson-agx-thor-devkit", "external")
        built = kit.run_tool(one, INITRD, "--no-flash", *board, **identity)
        assert built.returncode == 0, built.stderr
        one.store.replace(mode="recovery", faults=("flash_hang",))
        two.store.replace(mode="recovery")
        hung = kit.start_tool(one, INITRD, "--flash-only", "--usb-instance", one.usb_port, *board)
        try:
            runs = one.lft / "temp_initrdflash" / ".sim-instance0-runs"
            kit.wait_for(lambda: runs.is_dir() and any(runs.iterdir()), what="the first flash")
            pinned = ("--flash-only", "--usb-instance", two.usb_port, *board)
            clashed = kit.run_tool(two, INITRD, *pinned)
        finally:
            kit.kill_group(hung)
        assert clashed.returncode == 1
        assert "removed by another flash of device instance 0" in clashed.stderr
        assert two.state().flashed is None or two.state().flashed.tool != "l4t_initrd_flash.sh"
        two.store.replace(mode="recovery")
        alone = kit.run_tool(two, INITRD, *pinned)
        assert alone.returncode == 0, alone.stderr
