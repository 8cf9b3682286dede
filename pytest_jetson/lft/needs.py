"""The files a flash needs, named by the evaluated conf (never by a fixed list).

flash.sh stops on a missing ``kernel_image`` (``DFLT_KERNEL_IMAGE``, else ``DFLT_KERNEL``, a
bare name being under ``kernel/``, else ``kernel/Image``), kernel DTB (``kernel/dtb/$DTB_FILE``),
SDRAM BCT (``bootloader/<target_board>/BCT/$EMMC_BCT``) and, when it writes the layout itself,
partition layout (``bootloader/<target_board>/cfg/$EMMC_CFG``). The initrd flow also needs the
initrd the conf names in ``INITRD`` (R36: ``rootfs/boot/initrd``; R38 Thor:
``bootloader/l4t_initrd.img``) and the external layout it is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pytest_jetson.lft.paths import Lft

CONF_FILES: tuple[str, ...] = (
    "target_board",
    "DTB_FILE",
    "EMMC_BCT",
    "EMMC_CFG",
    "INITRD",
    "DFLT_KERNEL",
    "DFLT_KERNEL_IMAGE",
    "EXTERNAL_PT_LAYOUT",
)
"""The conf variables that name the files below (evaluate these)."""

_FIXES: dict[str, str] = {
    "kernel_image": "re-run jetson-promote-image (it copies the built kernel to kernel/Image)",
    "INITRD": "run jetson-init-image to create the initramfs, then jetson-promote-image",
}
_FIX_DEFAULT = "the image is incomplete: re-run jetson-init-image / jetson-promote-image"


@dataclass(frozen=True)
class NeededFile:
    """One file a flash needs: the conf variable that names it and where it must be."""

    variable: str
    """``DTB_FILE``, ``INITRD``, ... (``kernel_image`` for flash.sh's default kernel)."""
    path: Path

    @property
    def fix(self) -> str:
        """How to get the file back into the image."""
        return _FIXES.get(self.variable, _FIX_DEFAULT)

    def problem(self, lft: Lft) -> str:
        """``INITRD names rootfs/boot/initrd, which is missing``."""
        text = f"{self.variable} names {self.relative(lft)}, which is missing"
        if self.variable == "kernel_image":
            text += " (flash.sh stops: Error: missing kernel_image)"
        return text

    def relative(self, lft: Lft) -> str:
        """The path as the conf's reader sees it, relative to the LFT."""
        try:
            return str(self.path.relative_to(lft.root))
        except ValueError:
            return str(self.path)


def kernel_image(lft: Lft, values: Mapping[str, str]) -> Path:
    """flash.sh's ``kernel_image``: ``DFLT_KERNEL_IMAGE``, ``DFLT_KERNEL``, ``kernel/Image``."""
    name = values.get("DFLT_KERNEL_IMAGE") or values.get("DFLT_KERNEL") or ""
    if not name:
        return lft.kernel_image
    if Path(name).name == name:
        return lft.kernel_dir / name
    return lft.path(name)


def needed_files(lft: Lft, values: Mapping[str, str], *, initrd_flow: bool) -> list[NeededFile]:
    """The files the flow tool opens, from evaluated conf ``values``."""
    board = values.get("target_board") or None
    found = [NeededFile("kernel_image", kernel_image(lft, values))]
    if values.get("DTB_FILE"):
        found.append(NeededFile("DTB_FILE", lft.kernel_dtb_dir / values["DTB_FILE"]))
    if values.get("EMMC_BCT"):
        found.append(NeededFile("EMMC_BCT", lft.bct_dir(board) / values["EMMC_BCT"]))
    if initrd_flow:
        initrd = values.get("INITRD") or "rootfs/boot/initrd"
        found.append(NeededFile("INITRD", lft.path(initrd)))
    elif values.get("EMMC_CFG"):
        found.append(NeededFile("EMMC_CFG", lft.cfg_dir(board) / values["EMMC_CFG"]))
    return found


def missing(lft: Lft, files: list[NeededFile]) -> list[NeededFile]:
    """The needed files that are not there."""
    return [f for f in files if not f.path.is_file()]
