"""The faults a simulated DUT can be given, and what they change up front.

Most faults act where the real failure shows (the tools and the console read them from the
DUT state). Two change the tree (:func:`apply_tree_faults`) and two the EEPROM
(:func:`faulty_eeprom`). Two take a value (``name=value``): ``slow_stage=kernel:800ms`` and
``flaky_boot=0.2``, so the promotion gate can be shown a slower stage and a flaky image.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pytest_jetson.errors import UsageError, excerpt, shorten
from pytest_jetson.sim.boards import SimEeprom

FAULTS: dict[str, str] = {
    "no_rcm": "recovery does not take: boardctl says done but no RCM device appears",
    "boardctl_hang": "boardctl hangs forever",
    "topo_glitch": "the first boardctl command finds no debugger (the TOPO dropped off the "
    "USB bus for a moment, exit 1); later ones work",
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
    "slow_stage": "slow_stage=STAGE:DURATION (e.g. kernel:800ms): that boot stage takes "
    "DURATION longer on every boot (its firmware or kernel timers show it)",
    "flaky_boot": "flaky_boot=RATE[@SEED] (e.g. 0.2): that fraction of boots panics in the "
    "kernel, the same boots for the same seed",
}
"""Every fault name and what it does."""

VALUE_FAULTS: dict[str, str] = {
    "slow_stage": "STAGE:DURATION, e.g. kernel:800ms",
    "flaky_boot": "RATE[@SEED], e.g. 0.2",
}
"""The faults that take a value (``name=value``), and its form."""

SIM_STAGES = ("mb1", "mb2", "tos", "uefi", "kernel", "systemd", "login")
"""The simulated boot's stages, in order (``slow_stage`` names one of them)."""


@dataclass(frozen=True)
class SlowStage:
    """``slow_stage=STAGE:DURATION``: ``stage`` takes ``seconds`` more simulated time."""

    stage: str
    seconds: float


@dataclass(frozen=True)
class FlakyBoot:
    """``flaky_boot=RATE[@SEED]``: boot number N panics when a generator seeded with
    (``seed``, N) draws below ``rate``; the same seed fails the same boots in every run."""

    rate: float
    seed: int = 0


def _duration(text: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s)", text.strip())
    if match is None:
        raise ValueError(f"duration {text!r} is not like 800ms or 1.5s")
    value = float(match.group(1))
    return value / 1000 if match.group(2) == "ms" else value


def parse_slow_stage(value: str) -> SlowStage:
    """``kernel:800ms`` → ``SlowStage("kernel", 0.8)``; ValueError when malformed."""
    stage, _, duration = value.partition(":")
    if stage not in SIM_STAGES:
        raise ValueError(f"stage {stage!r} is not one of {', '.join(SIM_STAGES)}")
    return SlowStage(stage, _duration(duration))


def parse_flaky_boot(value: str) -> FlakyBoot:
    """``0.2`` or ``0.2@7`` → ``FlakyBoot(0.2, 7)``; ValueError when malformed."""
    rate, _, seed = value.partition("@")
    parsed = FlakyBoot(float(rate), int(seed) if seed else 0)
    if not 0 <= parsed.rate <= 1:
        raise ValueError(f"rate {rate} is not between 0 and 1")
    return parsed


_PARSERS = {"slow_stage": parse_slow_stage, "flaky_boot": parse_flaky_boot}


def fault_problem(fault: str) -> str | None:
    """Why ``fault`` is not a valid fault (None when it is)."""
    name, eq, value = fault.partition("=")
    if name not in FAULTS:
        return f"unknown simulator fault {excerpt(name)}"
    if name in VALUE_FAULTS and not eq:
        return f"{name!r} needs a value: {name}={VALUE_FAULTS[name]}"
    if name not in VALUE_FAULTS:
        return f"simulator fault {name!r} takes no value" if eq else None
    try:
        _PARSERS[name](value)
    except ValueError as exc:
        return f"{excerpt(fault)}: expected {name}={VALUE_FAULTS[name]} ({shorten(str(exc), 120)})"
    return None


def known_faults() -> str:
    """Every fault, as given on the command line (for error messages)."""
    return ", ".join(f"{n}=..." if n in VALUE_FAULTS else n for n in sorted(FAULTS))


MISMATCH: dict[str, tuple[str, int, str]] = {
    "3701": ("0005", 0x7023, "00:00:00:D0"),
    "3767": ("0003", 0x7523, "00:00:00:D5"),
    "3834": ("0000", 0x7226, "00:00:00:E2"),
}
"""Board id → (the other SKU, its RCM PID, its chip SKU) for ``eeprom_sku_mismatch``."""


def check_faults(names: Iterable[str]) -> tuple[str, ...]:
    """``names`` as a tuple, or a usage error naming the unknown ones and the valid ones."""
    chosen = tuple(dict.fromkeys(names))
    problems = [p for p in map(fault_problem, chosen) if p is not None]
    if problems:
        raise UsageError(f"{'; '.join(problems)}; known faults: {known_faults()}")
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
