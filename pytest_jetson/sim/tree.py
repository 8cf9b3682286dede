"""Synthetic Linux_for_Tegra trees shaped like NVIDIA's (issue 3 §1): the real top-level
files and conf chains, BCT and DT sources where the real releases keep them, and the rootfs
after ``apply_binaries.sh``.

:func:`make_tree` writes everything but the behaving in-tree tools (``flash.sh``,
``nvautoflash.sh``, ``boardctl``, ``l4t_initrd_flash.sh``, ``l4t_create_default_user.sh``,
``apply_binaries.sh``), which the simulator's tool installer adds. A T234 tree holds the
AGX Orin and the Orin Nano files side by side, like NVIDIA's one Orin BSP.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pytest_jetson.errors import UsageError
from pytest_jetson.sim.boards import SimBoard, SimRelease, board_by_key
from pytest_jetson.sim.tree_bct import t234_bct, t264_bct
from pytest_jetson.sim.tree_boot import (
    KERNEL_FULL,
    KERNEL_SMALL,
    bootloader_files,
    kernel_files,
    kernel_image,
    nv_tegra_files,
    tools_files,
)
from pytest_jetson.sim.tree_conf_orin import agx_confs, nano_confs
from pytest_jetson.sim.tree_conf_thor import thor_confs
from pytest_jetson.sim.tree_files import TreeFiles
from pytest_jetson.sim.tree_rootfs import bulk_rootfs, l4t_packages, rootfs_files

FULL_SIZE_ROOTFS_FILES = 20_000
"""Number of extra rootfs files of a ``full_size`` tree."""


@dataclass(frozen=True)
class SimTree:
    """A generated tree: ``root`` is the ``bsp_image.root_path``, ``lft`` its LFT."""

    root: Path
    lft: Path
    board: SimBoard
    release: str

    @property
    def sim_release(self) -> SimRelease:
        """The release's details (GCID, kernel, date)."""
        return self.board.release(self.release)

    @property
    def devkit_conf(self) -> Path:
        """The devkit conf symlink inside the LFT."""
        return self.lft / self.board.devkit_conf


def tree_files(
    board: SimBoard,
    release: SimRelease,
    *,
    full_size: bool = False,
    with_gpio_config: bool = False,
    nvpower_cvb: bool = True,
) -> TreeFiles:
    """Everything :func:`make_tree` writes, relative to the LFT, without touching the disk."""
    files = TreeFiles()
    if board.chip.catalogue_id == "t234":
        agx_confs(files, release, gpio_config=with_gpio_config)
        nano_confs(files, release, gpio_config=with_gpio_config)
        t234_bct(files)
    else:
        thor_confs(files, release, gpio_config=with_gpio_config)
        t264_bct(files)
    image = kernel_image(release, KERNEL_FULL if full_size else KERNEL_SMALL)
    kernel_files(files, board, release, image)
    bootloader_files(files, board, release)
    tools_files(files, board, release)
    rootfs, release_text = rootfs_files(board, release, image, cvb=nvpower_cvb)
    if full_size:
        bulk_rootfs(rootfs, release, FULL_SIZE_ROOTFS_FILES)
    files.merge(rootfs, "rootfs/")
    nv_tegra_files(files, release, release_text, l4t_packages(board, release))
    return files


def make_tree(
    dest: Path,
    board: str,
    *,
    release: str | None = None,
    full_size: bool = False,
    with_gpio_config: bool = False,
    nvpower_cvb: bool = True,
) -> SimTree:
    """Write a synthetic tree for ``board`` at ``dest/Linux_for_Tegra``.

    ``dest`` becomes the profile's ``bsp_image.root_path``. ``release`` defaults to the
    board's newest. ``full_size`` writes tens of thousands of rootfs files and a ~60 MB
    kernel; ``with_gpio_config`` adds a ``GPIO_CONFIG`` line to the top confs (no real conf
    has one); ``nvpower_cvb`` picks the nvpower.sh variant with the carrier (cvb) block.
    """
    sim_board = board_by_key(board)
    sim_release = sim_board.release(release)
    dest = Path(dest)
    lft = dest / "Linux_for_Tegra"
    if lft.exists() and any(lft.iterdir()):
        raise UsageError(f"cannot make a simulated tree in {lft}: the directory is not empty")
    files = tree_files(
        sim_board,
        sim_release,
        full_size=full_size,
        with_gpio_config=with_gpio_config,
        nvpower_cvb=nvpower_cvb,
    )
    files.write(lft)
    return SimTree(root=dest, lft=lft, board=sim_board, release=sim_release.version)
