"""The simulated source workspace: overlay tracker, hardware repository and its origin."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from git import Repo

from pytest_jetson.errors import UsageError
from pytest_jetson.sim.tree import SimTree
from pytest_jetson.sim.workspace import make_source_workspace


@pytest.mark.parametrize(
    "form,relative", [("hardware", "hardware"), ("bsp_sources", "bsp_sources/hardware")]
)
def test_workspace_forms(
    default_trees: dict[str, SimTree], tmp_path: Path, form: str, relative: str
) -> None:
    tree = default_trees["orin-agx"]
    ws = make_source_workspace(tmp_path, tree, form=form)  # type: ignore[arg-type]
    assert ws.root == tmp_path and ws.hardware_repo == tmp_path / relative
    hw = Repo(ws.hardware_repo)
    assert not hw.is_dirty(untracked_files=True)
    assert hw.active_branch.tracking_branch() is not None
    assert ws.origin is not None and Repo(ws.origin).bare
    assert Repo(ws.origin).head.commit.hexsha == hw.head.commit.hexsha
    assert hw.remotes.origin.url == str(ws.origin)
    with hw.config_reader("repository") as config:
        assert config.get_value("user", "email")
    assert ws.overlay_makefile == ws.hardware_repo / "nvidia/t23x/nv-public/overlay/Makefile"
    assert "nvidia/t23x/nv-public/overlay/Makefile" in {i.path for i in hw.tree().traverse()}


def test_overlay_makefile_has_the_real_shape(
    default_trees: dict[str, SimTree], tmp_path: Path
) -> None:
    ws = make_source_workspace(tmp_path, default_trees["thor-agx"], origin=False)
    assert ws.origin is None and not Repo(ws.hardware_repo).remotes
    lines = ws.overlay_makefile.read_text().splitlines()
    order = [
        lines.index("old-dtbo := $(dtbo-y)"),
        lines.index("dtbo-y :="),
        lines.index("makefile-path := t264/nv-public/overlay"),
        max(
            i
            for i, line in enumerate(lines)
            if line.startswith("dtbo-y += ") and "old-dtbo" not in line
        ),
        lines.index("ifneq ($(dtbo-y),)"),
        lines.index("dtbo-y := $(addprefix $(makefile-path)/,$(dtbo-y))"),
        lines.index("dtbo-y += $(old-dtbo)"),
    ]
    assert order == sorted(order)
    for line in lines:
        if line.startswith("dtbo-y += ") and "old-dtbo" not in line:
            assert (ws.overlay_dir / line.split()[-1].replace(".dtbo", ".dts")).is_file()


def test_tracker_holds_what_derive_carrier_reads(
    default_trees: dict[str, SimTree], tmp_path: Path
) -> None:
    tree = default_trees["orin-agx"]
    ws = make_source_workspace(tmp_path, tree, origin=False)
    repo = Repo(ws.overlay_tracker)
    tracked = {i.path for i in repo.head.commit.tree.traverse() if i.type == "blob"}
    for rel in (
        "p3701.conf.common",
        "p3737-0000-p3701-0000.conf",
        "jetson-agx-orin-devkit.conf",
        "bootloader/generic/BCT/tegra234-mb1-bct-pinmux-p3701-0000-a04.dtsi",
        "bootloader/tegra234-mb1-bct-gpio-p3701-0000-a04.dtsi",
        "bootloader/generic/tegra234-bpmp-3701-0000-3737-0000.dtb",
        "rootfs/etc/nvpmodel/nvpmodel_p3701_0000.conf",
        "rootfs/etc/nvpower/nvfancontrol/nvfancontrol_p3701_0000.conf",
        "rootfs/etc/systemd/nvpower.sh",
    ):
        assert rel in tracked, rel
    assert "kernel/Image" not in tracked and "rootfs/boot/Image" not in tracked
    assert (
        os.readlink(ws.overlay_tracker / "jetson-agx-orin-devkit.conf")
        == "p3737-0000-p3701-0000.conf"
    )
    assert not repo.is_dirty(untracked_files=True)


def test_second_form_and_nvidia_layout(default_trees: dict[str, SimTree], tmp_path: Path) -> None:
    tree = default_trees["orin-nano"]
    first = make_source_workspace(tmp_path, tree, pristine=False)
    head = Repo(first.overlay_tracker).head.commit.hexsha
    second = make_source_workspace(tmp_path, tree, form="bsp_sources")
    assert Repo(second.overlay_tracker).head.commit.hexsha == head
    assert first.hardware_repo.is_dir() and second.hardware_repo.is_dir()
    assert first.origin != second.origin
    with pytest.raises(UsageError, match="exists"):
        make_source_workspace(tmp_path, tree)
    nvidia = make_source_workspace(tmp_path / "nv", tree, form="lft_source", origin=False)
    assert nvidia.hardware_repo == tmp_path / "nv/Linux_for_Tegra/source/hardware"
    assert not Repo(nvidia.overlay_tracker).is_dirty(untracked_files=True)
