"""Paths inside a Linux_for_Tegra (LFT) tree: the one path object the product uses.

The real layout (R35 to R39): top-level ``flash.sh``, ``nvautoflash.sh`` and the board confs
(devkit names are symlinks to the real ``.conf``), ``bootloader/<target_board>/{BCT,cfg}``,
``kernel/Image`` and ``kernel/dtb``, ``rootfs/``, ``nv_tegra/``, ``tools/board_automation/boardctl``
and ``tools/kernel_flash/l4t_initrd_flash.sh`` (R39.2 adds a top-level symlink to it).
Which files a flash needs comes from the evaluated conf (:mod:`pytest_jetson.lft.conf`), never
from a fixed list here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pytest_jetson.errors import ConfigError
from pytest_jetson.lft.release import L4tRelease, parse_nv_tegra_release

LFT_DIRNAME = "Linux_for_Tegra"
BOARDCTL_RELPATH = "tools/board_automation/boardctl"
INITRD_FLASH_TOP = "l4t_initrd_flash.sh"
INITRD_FLASH_TOOLS = "tools/kernel_flash/l4t_initrd_flash.sh"


def conf_filename(name: str) -> str:
    """``jetson-agx-orin-devkit`` or ``jetson-agx-orin-devkit.conf`` → the file name."""
    return name if name.endswith(".conf") else f"{name}.conf"


@dataclass(frozen=True)
class Lft:
    """A Linux_for_Tegra directory and the paths the workflow needs inside it."""

    root: Path

    @classmethod
    def from_bsp_root(cls, root_path: Path | str) -> Lft:
        """The LFT of a ``bsp_image.root_path`` (``<root_path>/Linux_for_Tegra``)."""
        return cls(Path(root_path) / LFT_DIRNAME)

    def conf(self, name: str) -> Path:
        """The conf ``name`` at the top level (``.conf`` added when missing)."""
        return self.root / conf_filename(name)

    @property
    def bootloader(self) -> Path:
        """``bootloader/``."""
        return self.root / "bootloader"

    def target_board(self, conf_target_board: str | None = None) -> str:
        """The ``bootloader/<dir>`` of the BCTs and layouts.

        ``conf_target_board`` is the conf's ``target_board`` as bash evaluated it (``generic``;
        R35 ``t186ref``); without it, the only ``bootloader/<dir>/BCT`` present, else
        ``generic``.
        """
        if conf_target_board:
            return conf_target_board
        candidates = sorted(p.parent.name for p in self.bootloader.glob("*/BCT"))
        return candidates[0] if len(candidates) == 1 else "generic"

    def bct_dir(self, conf_target_board: str | None = None) -> Path:
        """``bootloader/<target_board>/BCT``."""
        return self.bootloader / self.target_board(conf_target_board) / "BCT"

    def cfg_dir(self, conf_target_board: str | None = None) -> Path:
        """``bootloader/<target_board>/cfg`` (partition layouts)."""
        return self.bootloader / self.target_board(conf_target_board) / "cfg"

    def path(self, conf_value: str) -> Path:
        """A path a conf names (``rootfs/boot/initrd``, ``bootloader/l4t_initrd.img``).

        flash.sh and l4t_initrd_flash.sh run in the LFT, so a relative value is relative to it.
        """
        value = Path(conf_value)
        return value if value.is_absolute() else self.root / value

    @property
    def kernel_dir(self) -> Path:
        """``kernel/``."""
        return self.root / "kernel"

    @property
    def kernel_dtb_dir(self) -> Path:
        """``kernel/dtb/``."""
        return self.root / "kernel" / "dtb"

    @property
    def kernel_image(self) -> Path:
        """``kernel/Image``."""
        return self.root / "kernel" / "Image"

    @property
    def rootfs(self) -> Path:
        """``rootfs/``."""
        return self.root / "rootfs"

    @property
    def rootfs_image(self) -> Path:
        """``rootfs/boot/Image`` (must equal ``kernel/Image`` byte for byte)."""
        return self.rootfs / "boot" / "Image"

    @property
    def rootfs_initrd(self) -> Path:
        """``rootfs/boot/initrd``."""
        return self.rootfs / "boot" / "initrd"

    @property
    def nv_tegra_release(self) -> Path:
        """``rootfs/etc/nv_tegra_release`` (what the DUT reports after flashing)."""
        return self.rootfs / "etc" / "nv_tegra_release"

    @property
    def bsp_nv_tegra_release(self) -> Path:
        """``nv_tegra/nv_tegra_release`` (the BSP's own copy)."""
        return self.root / "nv_tegra" / "nv_tegra_release"

    @property
    def boardctl(self) -> Path:
        """``tools/board_automation/boardctl``."""
        return self.root / BOARDCTL_RELPATH

    @property
    def nvautoflash(self) -> Path:
        """``nvautoflash.sh``."""
        return self.root / "nvautoflash.sh"

    @property
    def flash_sh(self) -> Path:
        """``flash.sh``."""
        return self.root / "flash.sh"

    @property
    def initrd_flash(self) -> Path:
        """The initrd flash tool that exists (only R39.2 ships the top-level symlink).

        The top-level ``l4t_initrd_flash.sh`` (R39.2 only) when it resolves to a file, else
        ``tools/kernel_flash/l4t_initrd_flash.sh``.
        """
        top = self.root / INITRD_FLASH_TOP
        return top if top.is_file() else self.root / INITRD_FLASH_TOOLS

    @property
    def create_default_user(self) -> Path:
        """``tools/l4t_create_default_user.sh``."""
        return self.root / "tools" / "l4t_create_default_user.sh"

    @property
    def apply_binaries(self) -> Path:
        """``apply_binaries.sh``."""
        return self.root / "apply_binaries.sh"

    def release(self) -> L4tRelease:
        """The release of the rootfs (``rootfs/etc/nv_tegra_release``, else ``nv_tegra/``)."""
        for path in (self.nv_tegra_release, self.bsp_nv_tegra_release):
            if path.is_file():
                try:
                    return parse_nv_tegra_release(path.read_text(errors="replace"))
                except ConfigError as exc:
                    raise ConfigError(exc.message, path=str(path)) from None
        raise ConfigError(
            f"no nv_tegra_release in {self.root} (looked for rootfs/etc/nv_tegra_release "
            "and nv_tegra/nv_tegra_release)"
        )


def as_lft(lft: Lft | Path | str) -> Lft:
    """``lft`` as an :class:`Lft` (a path names the Linux_for_Tegra directory)."""
    return lft if isinstance(lft, Lft) else Lft(Path(lft))


def resolve_conf(lft: Lft | Path | str, conf_name: str) -> Path:
    """The real file behind top-level conf ``conf_name`` (symlinks followed)."""
    tree = as_lft(lft)
    path = tree.conf(conf_name)
    if not path.exists():
        if path.is_symlink():
            raise ConfigError(
                f"conf {path.name} is a symlink to {path.readlink()}, which does not exist",
                path=str(path),
            )
        raise ConfigError(f"conf {path.name} not found in {tree.root}", path=str(path))
    return path.resolve()
