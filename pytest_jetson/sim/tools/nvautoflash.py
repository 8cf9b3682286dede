"""``nvautoflash.sh``: find the board in RCM, read its EEPROM, pick the conf (exit
5: no Jetson, 6: several without ``--usb-instance``, 10: no conf for the board).

``--print_boardid`` stops after printing what was found; without it the matching flow tool runs.
``--usb-instance <port>`` reads the Jetson on that RCM port (given to tegrarcm as ``--instance``);
only without it do several Jetsons in recovery stop the tool (``Too many Jetson devices found``,
exit 6). The board table needs an exact board id + SKU row (R38.4 Thor also the baseboard id 4071
or 3971): an empty SKU or a custom Thor carrier ends with ``Error: Target board not found.``,
exit 10, after the EEPROM fields were printed.
"""

from __future__ import annotations

from pytest_jetson.sim.boards import SimEeprom
from pytest_jetson.sim.state import DutState
from pytest_jetson.sim.tools._env import TegraflashClock, ToolEnv, err, out

RC_NO_DEVICE = 5
RC_TOO_MANY = 6
RC_NO_ECID = 7
RC_NOT_FOUND = 10
RC_NO_BOOTDEV = 11


def ecid(state: DutState) -> str:
    """The DUT's ECID (``BR_CID``), stable per DUT name."""
    tail = f"{sum(state.name.encode()) * 7919 % 0xFFFFFFFF:08X}"
    chip = "23" if state.chip == "t234" else "26"
    return f"0x8001{chip}44705DD357080000000{tail[:7]}"


def cfgtab(eeprom: SimEeprom, release_major: int, release_minor: int) -> tuple[str, str] | None:
    """``(board, boot device)`` for the EEPROM, like nvautoflash's table; None when unknown.

    Rows match the board id and SKU exactly: an empty SKU matches none.
    """
    sku = eeprom.sku
    if eeprom.board_id == "3701":
        if sku in ("0000", "0001", "0004", "0005"):
            return ("jetson-agx-orin-devkit", "internal")
        if sku == "0008":
            return ("jetson-agx-orin-devkit-industrial", "internal")
        if sku == "0002":
            return ("holoscan-devkit", "internal")
    elif eeprom.board_id == "3767":
        if sku in ("0000", "0001", "0002", "0003", "0004", "0005"):
            if sku == "0005" and (release_major, release_minor) >= (38, 4):
                return ("jetson-orin-nano-devkit-super", "internal")
            return ("jetson-orin-nano-devkit", "internal")
    elif eeprom.board_id == "3834" and eeprom.baseboard_id in ("4071", "3971"):
        if sku == "0008":
            return ("jetson-agx-thor-devkit", "external")
        if sku == "0000":
            return ("jetson-agx-thor-t4000", "external")
    return None


def read_eeprom_lines(env: ToolEnv, state: DutState, *, header: bool = True) -> None:
    """Print the tegraflash EEPROM dump (after nvautoflash's ``*** Reading EEPROM`` line)."""
    chip = "0x23" if state.chip == "t234" else "0x26"
    boot = env.lft / "bootloader"
    dumps = "dump eeprom cvm cvm.bin"
    if state.chip == "t264":
        dumps += "; dump eeprom cvb cvb.bin"
    prefix = "*** Reading EEPROM ... " if header else ""
    out(
        f'{prefix}"{boot}/tegraflash.py" --chip {chip} '
        f'--applet "{boot}/mb1_t{state.chip[1:]}_prod.bin" --skipuid '
        f'--cfg readinfo_t{state.chip[1:]}_min_prod.xml --cmd "{dumps}; reboot recovery"'
    )
    clock = TegraflashClock(env, 0.02)
    clock.line("Generating RCM messages", 0.01)
    clock.line("Sending bct_br", 0.05)
    clock.line("Sending mb1", 0.08)
    clock.line("Boot Rom communication completed", 0.1)
    clock.line("Sending mb2_applet", 0.4)
    clock.line("Dumping EEPROM contents to cvm.bin", 1.1)
    if state.chip == "t264":
        clock.line("Dumping EEPROM contents to cvb.bin", 0.3)
    clock.line("Rebooting to recovery mode", 0.2)


def print_board_info(eeprom: SimEeprom, chip: str) -> None:
    """The ``--- Parsing ...`` block (empty EEPROM fields print as ``()``)."""
    out("--- Reading board information succeeded.")
    out("--- Parsing chip_info.bin information succeeded.")
    out(f"Chip SKU({eeprom.chip_sku}) ramcode({eeprom.ramcode})")
    out("Parsing module EEPROM:")
    out(f"--- Parsing board ID ({eeprom.board_id}) succeeded.")
    out(f"--- Parsing board version ({eeprom.fab}) succeeded.")
    out(f"--- Parsing board SKU ({eeprom.sku}) succeeded.")
    out(f"--- Parsing board REV ({eeprom.rev}) succeeded.")
    if chip == "t264":
        out("Parsing baseboard EEPROM:")
        out(f"--- Parsing baseboard ID ({eeprom.baseboard_id or ''}) succeeded.")


def _usb_instance(argv: list[str]) -> str | None:
    """The word after ``--usb-instance`` (nvautoflash scans its whole command line for it)."""
    if "--usb-instance" in argv:
        at = argv.index("--usb-instance") + 1
        return argv[at] if at < len(argv) else ""
    return None


def main(env: ToolEnv, argv: list[str]) -> int:
    """Run nvautoflash.sh with ``argv``; return its exit code."""
    print_only = "--print_boardid" in argv
    instance = _usb_instance(argv)
    if env.release.major == 38 and env.release.minor >= 4:
        out("Wait 30 seconds for host machine to get Jetson Recovery USB")
        env.sleep(0.5)
    out("*** Checking ONLINE mode ... OK.")
    devices = env.rcm_devices()
    if not devices:
        out("*** Checking target board connection ... 0 connections found.")
        err("*** Error: No Jetson device found.")
        return RC_NO_DEVICE
    out(f"*** Checking target board connection ... {len(devices)} connections found.")
    if len(devices) > 1 and instance is None:
        err("*** Error: Too many Jetson devices found.")
        err(f"Connect 1 Jetson in RCM mode and rerun ./nvautoflash.sh {' '.join(argv)}")
        return RC_TOO_MANY
    chosen = devices if instance is None else env.rcm_devices(instance)
    env.sleep(0.05)
    if not chosen:
        out("*** Reading ECID ... ")
        err("*** Error: ECID read failed.")
        err("Put the target board in RCM mode and retry.")
        return RC_NO_ECID
    store = chosen[0]
    state = store.read()
    chip = "0x23" if state.chip == "t234" else "0x26"
    out(f"*** Reading ECID ... FUSELEVEL=fuselevel_production hwchipid={chip} bootauth=NS")
    read_eeprom_lines(env, state)
    print_board_info(state.eeprom, state.chip)
    found = cfgtab(state.eeprom, env.release.major, env.release.minor)
    if found is None:
        err("Error: Target board not found.")
        return RC_NOT_FOUND
    board, bootdev = found
    if print_only:
        out(f"{board} found.")
        return 0
    out(f"*** Finding boot device ... Boot device {bootdev} found.")
    from pytest_jetson.sim.tools import flash

    if state.chip == "t264":
        return flash.initrd_main(env, [board, bootdev])
    return flash.flash_main(env, [board, bootdev])
