"""The image digest covers the tree files that land on the board, not the bench wiring."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pytest_jetson.flash.imagedigest import image_digest, tree_contents
from pytest_jetson.flash.plan import Plan
from pytest_jetson.sim.tree import make_tree

CONF = "jetson-agx-orin-devkit.conf"
PLAN = Plan(
    dut="d",
    target="t",
    profile="p",
    lft="../Linux_for_Tegra",
    version="R36.4.3",
    flash_conf=CONF,
    eeprom={"board_sku": "0005", "board_FAB": "500"},
    profile_expect={},
    boot_device="mmcblk0p1",
    flow_tool="flash.sh",
    argv=("./flash.sh", "--usb-instance", "1-4", "jetson-agx-orin-devkit", "mmcblk0p1"),
    boardctl="b",
    rcm_entry="r",
    post_flash="p",
    default_user="u",
)


@pytest.fixture(scope="module")
def lft(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tree(tmp_path_factory.mktemp("tree"), "orin-agx").lft


def test_bench_wiring_does_not_change_it(lft: Path) -> None:
    conf: dict[str, str] = {}
    moved = dataclasses.replace(
        PLAN, dut="other", argv=(*PLAN.argv[:2], "1-9", *PLAN.argv[3:]), boardctl="x"
    )
    assert image_digest(PLAN, lft, conf) == image_digest(moved, lft, conf)
    assert image_digest(PLAN, lft, conf) == image_digest(
        dataclasses.replace(PLAN, default_user="already staged in rootfs (kept)"), lft, conf
    ), "the same user on the board, whatever the plan calls the staging"
    assert image_digest(PLAN, lft, conf) != image_digest(
        dataclasses.replace(PLAN, boot_device="nvme0n1p1"), lft, conf
    )


def test_hashes_the_conf_named_sources(lft: Path) -> None:
    contents = tree_contents(lft, {}, CONF)
    assert "kernel/Image" in contents
    assert "kernel/dtb/tegra234-p3737-0000+p3701-0000-nv.dtb" in contents
    assert any(k.startswith("bootloader/") and k.endswith("-sdram-l4t.dts") for k in contents)
    assert "missing" not in [v for k, v in contents.items() if k.startswith("kernel/")]


@pytest.mark.parametrize(
    "name",
    ["kernel/Image", "kernel/dtb/tegra234-p3737-0000+p3701-0000-nv.dtb", "BCT"],
)
def test_a_changed_file_changes_it(tmp_path: Path, name: str) -> None:
    lft = make_tree(tmp_path, "orin-agx").lft
    conf: dict[str, str] = {}
    before = image_digest(PLAN, lft, conf)
    if name == "BCT":
        path = next((lft / "bootloader").rglob("tegra234-mb2-bct-misc-p3701-0000.dts"))
    else:
        path = lft / name
    path.write_bytes(path.read_bytes() + b"\n/* changed */\n")
    assert image_digest(PLAN, lft, conf) != before
