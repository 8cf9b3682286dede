"""The chip catalogue: module id → chip family, and the three spellings of a chip.

NVIDIA's tree spells one chip three ways (seen in R36.2, R38.4 and R39.2): the catalogue id
(``t234``), the device-tree source directory (``t23x``) and the file/compatible prefix
(``tegra234``). They are derived separately here, never from one another.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass


@dataclass(frozen=True)
class ChipFamily:
    """One Tegra chip family and how the tree and the USB bus name it."""

    catalogue_id: str
    """Catalogue id: ``t234`` or ``t264``."""
    marketing: str
    """Human name: ``Orin`` or ``Thor``."""
    dt_dir: str
    """Directory under ``source/hardware/nvidia/``: ``t23x`` or ``t264``."""
    prefix: str
    """File and compatible prefix: ``tegra234`` or ``tegra264``."""
    chip_id: int
    """CHIPID as tegraflash takes it (``--chip 0x23``)."""
    rcm_pid_pattern: str
    """Regular expression over the 4-hex-digit USB product id of the DUT in recovery."""
    post_flash_reset: bool
    """True when the DUT stays in recovery after flashing and needs ``boardctl reset``."""

    def is_rcm_pid(self, pid: int) -> bool:
        """Whether USB product id ``pid`` (vendor 0x0955) is this family in recovery."""
        return re.fullmatch(self.rcm_pid_pattern, f"{pid:04x}") is not None


NVIDIA_VID = 0x0955
"""USB vendor id of every NVIDIA device on the bench."""

T234 = ChipFamily(
    catalogue_id="t234",
    marketing="Orin",
    dt_dir="t23x",
    prefix="tegra234",
    chip_id=0x23,
    rcm_pid_pattern=r"7[0-9a-f]23",
    post_flash_reset=False,
)
T264 = ChipFamily(
    catalogue_id="t264",
    marketing="Thor",
    dt_dir="t264",
    prefix="tegra264",
    chip_id=0x26,
    rcm_pid_pattern=r"7[0-9a-f]26",
    post_flash_reset=True,
)

CHIPS: dict[str, ChipFamily] = {c.catalogue_id: c for c in (T234, T264)}
"""Chip families by catalogue id."""

MODULES: dict[str, ChipFamily] = {"p3701": T234, "p3767": T234, "p3834": T264}
"""Module id (``pNNNN``) → chip family."""


class UnknownModuleWarning(UserWarning):
    """A module id is not in the catalogue; the chip family fell back to t234."""


def chip_for_module(module_id: str) -> ChipFamily:
    """Return the chip family of ``module_id``; warn and fall back to t234 when unknown."""
    family = MODULES.get(module_id.strip().lower())
    if family is None:
        warnings.warn(
            f"module id {module_id!r} is not in the chip catalogue "
            f"(known: {', '.join(sorted(MODULES))}); assuming t234 (Orin)",
            UnknownModuleWarning,
            stacklevel=2,
        )
        return T234
    return family


def chip_by_id(catalogue_id: str) -> ChipFamily:
    """Return the chip family with catalogue id ``t234`` or ``t264`` (KeyError otherwise)."""
    return CHIPS[catalogue_id]
