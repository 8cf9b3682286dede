"""Source a board conf in bash the way flash.sh does, with the EEPROM values as its inputs.

A thin adapter over :func:`pytest_jetson.lft.conf.evaluate_conf`: the conf and its dispatch hooks
run in bash; a hook that rejects the SKU or FAB prints NVIDIA's error and exits 1, and that
exit and its output come back in :class:`ConfResult` for the tool to print.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pytest_jetson.lft.conf import ConfDispatchError, evaluate_conf
from pytest_jetson.sim.boards import SimEeprom

REPORTED = (
    "CHIPID",
    "DTB_FILE",
    "BPFDTB_FILE",
    "BPFFILE",
    "EMMC_CFG",
    "EXTERNAL_DEVICE",
    "EXTERNAL_PT_LAYOUT",
    "INITRD",
    "DFLT_KERNEL",
    "DFLT_KERNEL_IMAGE",
)
"""Variables reported back after the hooks ran."""


@dataclass(frozen=True)
class ConfResult:
    """What sourcing the conf and running its hooks gave."""

    rc: int
    output: list[str]
    """Lines the conf printed when it failed (NVIDIA's errors)."""
    variables: dict[str, str] = field(default_factory=dict)

    def file(self, lft: Path, name: str, default: str) -> Path:
        """The file the conf names in ``name`` (relative to the LFT), else ``default``."""
        value = self.variables.get(name) or default
        path = Path(value)
        return path if path.is_absolute() else lft / path

    @property
    def chip_id(self) -> int | None:
        """``CHIPID`` from the conf chain, when set."""
        value = self.variables.get("CHIPID", "")
        try:
            return int(value, 0) if value else None
        except ValueError:
            return None


def dispatch(lft: Path, board: str, eeprom: SimEeprom, *, rootfs_ab: bool = False) -> ConfResult:
    """Source ``<lft>/<board>.conf`` with ``eeprom`` as the board inputs and run its hooks
    (``ROOTFS_AB=1`` in the conf's environment with ``rootfs_ab``)."""
    try:
        values = evaluate_conf(
            lft,
            board,
            board_id=eeprom.board_id,
            board_sku=eeprom.sku,
            fab=eeprom.fab,
            chip_sku=eeprom.chip_sku,
            board_rev=eeprom.rev,
            rootfs_ab=rootfs_ab,
            variables=REPORTED,
        )
    except ConfDispatchError as exc:
        lines = [ln for ln in exc.output.splitlines() if ln.strip()]
        return ConfResult(exc.returncode or 1, lines)
    return ConfResult(0, [], values)
