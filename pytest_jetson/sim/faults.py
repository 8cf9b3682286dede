"""The faults a simulated DUT can be given, and what they change up front.

Most faults act where the real failure shows (the tools and the console read them from the
DUT state). Two change the tree (:func:`apply_tree_faults`) and two the EEPROM
(:func:`faulty_eeprom`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path

from pytest_jetson.errors import UsageError
from pytest_jetson.sim.boards import SimEeprom

FAULTS: dict[str, str] = {
    "no_rcm": "recovery does not take: boardctl says done but no RCM device appears",
    "boardctl_hang": "boardctl hangs forever",
    "eeprom_sku_mismatch": "the EEPROM reports another module SKU than the profile",
    "eeprom_empty": "the EEPROM SKU and FAB fields are empty",
    "image_drift": "rootfs/boot/Image differs from kernel/Image",
    "missing_initrd": "bootloader/l4t_initrd.img and rootfs/boot/initrd are absent",
    "flash_fail": "the flow tool fails with a real failure line, exit 1",
    "usb_drop_mid_flash": "the RCM device vanishes mid-flash",
    "flash_hang": "the flow tool hangs mid-flash",
    "kernel_panic": "the kernel panics during boot",
    "boot_hang": "the boot stops in the kernel stage",
    "oem_wizard": "the first-boot wizard shows although a user was staged",
    "serial_unplug": "the console port vanishes mid-boot and comes back under the same path",
    "slow_boot": "the boot takes several times longer",
    "tcu_garble": "the combined UART interleaves heavily: most lines spliced, the MB2 and UEFI "
    "banners lost",
    "console_silent": "the board is found wedged: console silent, typing ignored, until a reset",
    "hang_until_power_cycle": "the board is found hung: silent, a reset does nothing, a power "
    "cycle brings it back",
    "needs_reflash": "the board is found with a corrupt boot chain: silent through every "
    "reset, power cycle and recovery re-entry until it is flashed (the boot ROM still answers "
    "in RCM)",
    "never_recovers": "the board is found dead: silent through every reset, power cycle and "
    "flash (the boot ROM still answers in RCM; nothing after it prints)",
}
"""Every fault name and what it does."""

MISMATCH: dict[str, tuple[str, int, str]] = {
    "3701": ("0005", 0x7023, "00:00:00:D0"),
    "3767": ("0003", 0x7523, "00:00:00:D5"),
    "3834": ("0000", 0x7226, "00:00:00:E2"),
}
"""Board id → (the other SKU, its RCM PID, its chip SKU) for ``eeprom_sku_mismatch``."""


def check_faults(names: Iterable[str]) -> tuple[str, ...]:
    """``names`` as a tuple, or a usage error naming the unknown ones and the valid ones."""
    chosen = tuple(dict.fromkeys(names))
    unknown = [n for n in chosen if n not in FAULTS]
    if unknown:
        raise UsageError(
            f"unknown simulator fault(s) {', '.join(map(repr, unknown))} "
            f"(valid: {', '.join(FAULTS)})"
        )
    return chosen


def faulty_eeprom(eeprom: SimEeprom, faults: Iterable[str]) -> SimEeprom:
    """The EEPROM the DUT reports under ``faults``."""
    chosen = set(faults)
    if "eeprom_sku_mismatch" in chosen and eeprom.board_id in MISMATCH:
        sku, pid, chip_sku = MISMATCH[eeprom.board_id]
        eeprom = dataclasses.replace(eeprom, sku=sku, rcm_pid=pid, chip_sku=chip_sku)
    if "eeprom_empty" in chosen:
        eeprom = dataclasses.replace(eeprom, sku="", fab="")
    return eeprom


def apply_tree_faults(lft: Path, faults: Iterable[str]) -> None:
    """Change the tree at ``lft`` the way ``image_drift`` and ``missing_initrd`` say."""
    chosen = set(faults)
    if "image_drift" in chosen:
        image = lft / "rootfs" / "boot" / "Image"
        image.parent.mkdir(parents=True, exist_ok=True)
        with image.open("ab") as f:
            f.write(b"\0simulated drift: this Image was rebuilt after apply_binaries\0")
    if "missing_initrd" in chosen:
        (lft / "bootloader" / "l4t_initrd.img").unlink(missing_ok=True)
        (lft / "rootfs" / "boot" / "initrd").unlink(missing_ok=True)
