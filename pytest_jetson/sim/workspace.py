"""A source workspace for derive-carrier: the overlay tracker and the hardware repository.

* Overlay tracker: ``<root>/Linux_for_Tegra``, a git repository holding a copy of the LFT
  files derive-carrier reads and forks (confs, BCT sources, BPMP DTBs, nvpmodel,
  nvfancontrol, nvpower.sh), committed once, without the big binaries.
* Hardware repository (procedures name ``<src>/hardware`` or ``<src>/bsp_sources/hardware``;
  NVIDIA's own layout is ``Linux_for_Tegra/source/hardware``): ``<root>/hardware`` (form
  ``hardware``),
  ``<root>/bsp_sources/hardware`` (form ``bsp_sources``) or NVIDIA's own layout
  ``<root>/Linux_for_Tegra/source/hardware`` (form ``lft_source``, which derive-carrier
  refuses). It holds ``nvidia/<dt_dir>/nv-public/overlay/Makefile`` in the real
  ``old-dtbo`` / ``dtbo-y +=`` / ``$(addprefix ...)`` shape and the overlay sources, and
  pushes to a bare ``origin`` when one is made.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pytest_jetson.errors import UsageError
from pytest_jetson.sim.tree import SimTree

if TYPE_CHECKING:
    from git import Repo

WorkspaceForm = Literal["hardware", "bsp_sources", "lft_source"]
GIT_USER = ("pytest-jetson sim", "sim@pytest-jetson.invalid")
BRANCH = "main"

_TRACKED_GLOBS = (
    "*.conf",
    "*.conf.common",
    "bootloader/*.dtsi",
    "bootloader/*.h",
    "bootloader/generic/BCT/*",
    "bootloader/generic/*.dtb",
    "rootfs/etc/nvpmodel/*",
    "rootfs/etc/nvpower/nvfancontrol/*",
    "rootfs/etc/systemd/nvpower.sh",
    "nv_tegra/nv_tegra_release",
    "nv_tegra/bsp_version",
)
"""LFT files the overlay tracker holds (what derive-carrier reads, forks or patches)."""


@dataclass(frozen=True)
class SourceWorkspace:
    """A generated source workspace (``root`` is the profile's ``source.root_path``)."""

    root: Path
    overlay_tracker: Path
    hardware_repo: Path
    origin: Path | None
    form: WorkspaceForm
    dt_dir: str
    """``t23x`` or ``t264``."""

    @property
    def overlay_dir(self) -> Path:
        """``<hardware>/nvidia/<dt_dir>/nv-public/overlay``."""
        return self.hardware_repo / "nvidia" / self.dt_dir / "nv-public" / "overlay"

    @property
    def overlay_makefile(self) -> Path:
        """The per-directory overlay Makefile."""
        return self.overlay_dir / "Makefile"


def _init_repo(path: Path, *, bare: bool = False) -> Repo:
    from git import Repo

    path.mkdir(parents=True, exist_ok=True)
    repo = Repo.init(path, bare=bare, initial_branch=BRANCH)
    if not bare:
        with repo.config_writer() as config:
            config.set_value("user", "name", GIT_USER[0])
            config.set_value("user", "email", GIT_USER[1])
            config.set_value("commit", "gpgsign", "false")
    return repo


def _commit_all(repo: Repo, message: str) -> None:
    repo.git.add("-A")
    repo.git.commit("-m", message, "--no-verify")


def _copy_entry(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_symlink():
        if dst.is_symlink() or dst.exists():
            dst.unlink()
        dst.symlink_to(src.readlink())
    else:
        shutil.copy2(src, dst)


def _make_tracker(path: Path, tree: SimTree, *, pristine: bool) -> None:
    repo = _init_repo(path)
    if pristine:
        for pattern in _TRACKED_GLOBS:
            for src in sorted(tree.lft.glob(pattern)):
                if src.is_file() or src.is_symlink():
                    _copy_entry(src, path / src.relative_to(tree.lft))
    (path / ".gitignore").write_text("source/\nrootfs/boot/\nkernel/\n*.tbz2\n")
    what = f"Import L4T {tree.release} files from the BSP (pristine)" if pristine else "Init"
    _commit_all(repo, f"{what}\n\nBoard: {tree.board.devkit_name}\n")


def _makefile(dt_dir: str, entries: list[str]) -> str:
    listed = "".join(f"dtbo-y += {name}\n" for name in entries)
    return (
        "# SPDX-License-Identifier: GPL-2.0-only\n"
        "# Synthetic overlay Makefile written by the pytest-jetson simulator.\n\n"
        "old-dtbo := $(dtbo-y)\n"
        "dtbo-y :=\n"
        f"makefile-path := {dt_dir}/nv-public/overlay\n\n"
        f"{listed}\n"
        "ifneq ($(dtbo-y),)\n"
        "dtbo-y := $(addprefix $(makefile-path)/,$(dtbo-y))\n"
        "endif\n\n"
        "dtbo-y += $(old-dtbo)\n"
    )


def _overlay_dts(name: str, compatible: str) -> str:
    return (
        "// SPDX-License-Identifier: GPL-2.0-only\n"
        "/dts-v1/;\n/plugin/;\n\n"
        "/ {\n"
        f'\toverlay-name = "{name}";\n'
        f'\tcompatible = "{compatible}";\n\n'
        "\tfragment@0 {\n"
        '\t\ttarget-path = "/";\n'
        "\t\t__overlay__ {\n\t\t};\n"
        "\t};\n"
        "};\n"
    )


def _overlays(tree: SimTree) -> tuple[str, list[str]]:
    if tree.board.chip.catalogue_id == "t264":
        return "nvidia,tegra264", [
            "tegra264-p4071-0000+p3834-xxxx-dynamic",
            "tegra264-ftpm",
            "tegra264-carveouts",
        ]
    return "nvidia,tegra234", [
        "tegra234-carveouts",
        "tegra-optee",
        "tegra234-p3737-0000+p3701-0000-dynamic",
        "tegra234-p3768-0000+p3767-0000-dynamic",
        "tegra234-p3737-camera-dual-imx274-overlay",
        "tegra234-p3737-camera-e3331-overlay",
    ]


def _make_hardware(path: Path, tree: SimTree) -> Repo:
    repo = _init_repo(path)
    dt_dir = tree.board.chip.dt_dir
    overlay = path / "nvidia" / dt_dir / "nv-public" / "overlay"
    overlay.mkdir(parents=True)
    compatible, names = _overlays(tree)
    (overlay / "Makefile").write_text(_makefile(dt_dir, [f"{n}.dtbo" for n in names]))
    for name in names:
        (overlay / f"{name}.dts").write_text(_overlay_dts(name, compatible))
    platform = path / "nvidia" / dt_dir / "nv-public" / "nv-platform"
    platform.mkdir(parents=True)
    for dtb in sorted((tree.lft / "kernel" / "dtb").glob("*-nv.dtb")):
        (platform / (dtb.stem + ".dts")).write_text(
            "// SPDX-License-Identifier: GPL-2.0-only\n/dts-v1/;\n\n"
            f'/ {{\n\tcompatible = "{compatible}";\n}};\n'
        )
    common = path / "nvidia" / "tegra" / "nv-public"
    common.mkdir(parents=True)
    (common / "Makefile").write_text("# Shared Tegra device-tree sources.\nsubdir-y :=\n")
    _commit_all(repo, f"Import hardware/nvidia device-tree sources of L4T {tree.release}")
    return repo


def _hardware_path(root: Path, form: WorkspaceForm) -> Path:
    if form == "hardware":
        return root / "hardware"
    if form == "bsp_sources":
        return root / "bsp_sources" / "hardware"
    if form == "lft_source":
        return root / "Linux_for_Tegra" / "source" / "hardware"
    raise UsageError(f"unknown workspace form {form!r} (hardware, bsp_sources, lft_source)")


def make_source_workspace(
    dest: Path,
    tree: SimTree,
    *,
    form: WorkspaceForm = "hardware",
    origin: bool = True,
    pristine: bool = True,
) -> SourceWorkspace:
    """Create the source workspace of ``tree`` at ``dest`` (the profile's ``source.root_path``).

    The overlay tracker is created unless ``dest/Linux_for_Tegra/.git`` exists already, so a
    second call with another ``form`` adds a second hardware repository (the "both present"
    case). ``pristine=False`` leaves the tracker with an initial commit of ``.gitignore``
    only. With ``origin``, a bare repository at ``dest/origin/hardware.git`` is the
    hardware repository's ``origin`` and ``main`` tracks ``origin/main``.
    """
    dest = Path(dest)
    hardware = _hardware_path(dest, form)
    if hardware.exists():
        raise UsageError(f"cannot make a hardware repository at {hardware}: it exists")
    tracker = dest / "Linux_for_Tegra"
    if not (tracker / ".git").exists():
        _make_tracker(tracker, tree, pristine=pristine)
    repo = _make_hardware(hardware, tree)
    origin_path: Path | None = None
    if origin:
        origin_path = (
            dest / "origin" / ("hardware.git" if form == "hardware" else f"{form}-hardware.git")
        )
        _init_repo(origin_path, bare=True)
        repo.create_remote("origin", str(origin_path))
        repo.git.push("--set-upstream", "origin", BRANCH)
    return SourceWorkspace(
        root=dest,
        overlay_tracker=tracker,
        hardware_repo=hardware,
        origin=origin_path,
        form=form,
        dt_dir=tree.board.chip.dt_dir,
    )
