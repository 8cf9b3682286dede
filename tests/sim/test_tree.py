"""The generated Linux_for_Tegra trees have the layout of NVIDIA's real
releases: conf chains, BCT/DT sources, rootfs, tools."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from pytest_jetson.errors import UsageError
from pytest_jetson.lft.paths import Lft
from pytest_jetson.lft.release import parse_nv_tegra_release
from pytest_jetson.lft.scan import conf_chain
from pytest_jetson.sim.boards import BOARDS, RELEASES, board_for_dut
from pytest_jetson.sim.tree import SimTree, make_tree, tree_files
from pytest_jetson.sim.tree_fdt import read_root_strings

CHAINS = {
    "orin-agx": (
        "jetson-agx-orin-devkit.conf",
        ["p3737-0000-p3701-0000.conf", "p3737-0000-p3701-0000.conf.common", "p3701.conf.common"],
    ),
    "orin-nano": (
        "jetson-orin-nano-devkit.conf",
        ["p3768-0000-p3767-0000-a0.conf", "p3767.conf.common"],
    ),
    "thor-agx": (
        "jetson-agx-thor-devkit.conf",
        ["p3834-0008-p4071-0000-nvme.conf", "t264.conf.common", "nv_public_common_board.conf"],
    ),
}


def test_boards_match_the_simulator_values_of_facts() -> None:
    agx, nano, thor = BOARDS["orin-agx"], BOARDS["orin-nano"], BOARDS["thor-agx"]
    assert (agx.eeprom.board_id, agx.eeprom.fab, agx.eeprom.rcm_pid) == ("3701", "500", 0x7023)
    assert (nano.eeprom.sku, nano.eeprom.fab, nano.eeprom.chip_sku) == (
        "0005",
        "RC1",
        "00:00:00:D5",
    )
    assert (thor.eeprom.baseboard_id, thor.eeprom.rcm_pid) == ("4071", 0x7026)
    assert [b.default_boot_device for b in (agx, nano, thor)] == [
        "internal",
        "internal",
        "external",
    ]
    assert agx.default_release == "R36.4.3" and thor.default_release == "R38.4.0"
    assert board_for_dut("sim-orin-nano") is nano
    with pytest.raises(UsageError, match="sim-orin, sim-orin-nano, sim-thor"):
        board_for_dut("sim-xavier")
    with pytest.raises(UsageError, match=r"R36\.2\.0, R36\.4\.3"):
        agx.release("R38.4.0")


@pytest.mark.parametrize("key", sorted(CHAINS))
def test_devkit_conf_is_a_symlink_into_the_real_source_chain(
    default_trees: dict[str, SimTree], key: str
) -> None:
    tree = default_trees[key]
    devkit, expected = CHAINS[key]
    link = tree.lft / devkit
    assert link.is_symlink() and os.readlink(link) == expected[0]
    assert [p.name for p in conf_chain(tree.lft, devkit)] == expected
    first = (tree.lft / expected[0]).read_text()
    assert f'source "${{LDK_DIR}}/{expected[1]}";' in first


def test_sibling_symlinks_resolve(default_trees: dict[str, SimTree]) -> None:
    for tree in default_trees.values():
        links = [p for p in tree.lft.glob("*.conf") if p.is_symlink()]
        assert len(links) >= 3
        for link in links:
            assert link.resolve().is_file(), link
            conf_chain(tree.lft, link.name)
    agx = default_trees["orin-agx"].lft
    assert (
        os.readlink(agx / "jetson-orin-nano-devkit-nvme.conf")
        == "p3768-0000-p3767-0000-a0-nvme.conf"
    )
    for name in (
        "maxn",
        "industrial",
        "industrial-qspi",
        "industrial-maxn",
        "as-jao-32gb",
        "as-nx-16gb",
        "as-nx-8gb",
        "as-nano8gb",
        "as-nano4gb",
    ):
        assert (agx / f"jetson-agx-orin-devkit-{name}.conf").is_symlink()
    assert "flash_t234_qspi_nvme.xml" in (agx / "p3768-0000-p3767-0000-a0-nvme.conf").read_text()


def test_super_confs_only_from_r36_4(sim_trees: dict[tuple[str, str], SimTree]) -> None:
    old = sim_trees[("orin-nano", "R36.2.0")].lft
    new = sim_trees[("orin-nano", "R36.4.3")].lft
    assert not (old / "jetson-orin-nano-devkit-super.conf").exists()
    assert (
        os.readlink(new / "jetson-orin-nano-devkit-super.conf")
        == "p3768-0000-p3767-0000-super.conf"
    )
    text = (new / "p3768-0000-p3767-0000-super.conf").read_text()
    assert 'source "${LDK_DIR}/p3768-0000-p3767-0000-a0.conf";' in text
    assert "p3767_super_overlay()" in text


def test_no_conf_sets_gpio_config_unless_the_variant_asks(
    default_trees: dict[str, SimTree], tmp_path: Path
) -> None:
    for tree in default_trees.values():
        for conf in list(tree.lft.glob("*.conf")) + list(tree.lft.glob("*.conf.common")):
            assert not re.search(r"^\s*GPIO_CONFIG=", conf.read_text(), re.M), conf
    variant = make_tree(tmp_path, "orin-agx", with_gpio_config=True)
    text = (variant.lft / "p3737-0000-p3701-0000.conf").read_text()
    assert 'GPIO_CONFIG="tegra234-mb1-bct-gpio-p3701-0000-a04.dtsi";' in text


@pytest.mark.parametrize("key,release", [(k, r) for k, b in BOARDS.items() for r in b.releases])
def test_release_files_parse_and_agree(
    sim_trees: dict[tuple[str, str], SimTree], key: str, release: str
) -> None:
    lft = Lft(sim_trees[(key, release)].lft)
    text = lft.nv_tegra_release.read_text()
    assert text == lft.bsp_nv_tegra_release.read_text()
    parsed = parse_nv_tegra_release(text)
    assert parsed.version == release
    assert parsed.gcid == RELEASES[release].gcid
    assert parsed.board == "generic" and parsed.kernel_variant == "oot"
    assert lft.release() == parsed
    lines = text.splitlines()
    assert lines[1:4] == [
        "# KERNEL_VARIANT: oot",
        "TARGET_USERSPACE_LIB_DIR=nvidia",
        "TARGET_USERSPACE_LIB_DIR_PATH=usr/lib/aarch64-linux-gnu/nvidia",
    ]
    assert ("INSTALL_TYPE=" in lines) == (release in ("R38.4.0", "R39.2.0"))
    bsp = (lft.root / "nv_tegra" / "bsp_version").read_text()
    assert f"BSP_VERSION={release[1:]}" in bsp


def test_release_line_format_keeps_nvidia_spacing(
    sim_trees: dict[tuple[str, str], SimTree],
) -> None:
    first = Lft(sim_trees[("orin-agx", "R36.4.3")].lft).nv_tegra_release.read_text().splitlines()[0]
    assert first == (
        "# R36 (release), REVISION: 4.3, GCID: 38968081, BOARD: generic, EABI: aarch64, "
        "DATE: Wed Jan  8 01:49:37 UTC 2025"
    )
    thor39 = Lft(sim_trees[("thor-agx", "R39.2.0")].lft).nv_tegra_release.read_text()
    assert "DATE: Mon Jun  1 09:17:31 PM UTC 2026" in thor39


def test_library_hashes_in_release_file_match_rootfs(default_trees: dict[str, SimTree]) -> None:
    import hashlib

    lft = Lft(default_trees["orin-agx"].lft)
    sums = [
        line.split(" *") for line in lft.nv_tegra_release.read_text().splitlines() if " */" in line
    ]
    assert sums
    for digest, path in sums:
        assert hashlib.sha1((lft.rootfs / path.lstrip("/")).read_bytes()).hexdigest() == digest


def test_kernel_image_is_mirrored_in_rootfs(default_trees: dict[str, SimTree]) -> None:
    for tree in default_trees.values():
        lft = Lft(tree.lft)
        image = lft.kernel_image.read_bytes()
        assert image == lft.rootfs_image.read_bytes()
        assert image[0x38:0x3C] == b"ARM\x64"
        assert f"Linux version {tree.sim_release.kernel}".encode() in image
        assert lft.rootfs_initrd.stat().st_size > 0
        # T264 confs name bootloader/l4t_initrd.img as INITRD; an R36 (T234) tree has none.
        initrd = lft.path("bootloader/l4t_initrd.img")
        if tree.board.chip.catalogue_id == "t264":
            assert initrd.stat().st_size > 0
        else:
            assert not initrd.exists()


def test_users_and_first_boot(sim_trees: dict[tuple[str, str], SimTree]) -> None:
    for (_key, release), tree in sim_trees.items():
        rootfs = tree.lft / "rootfs"
        assert list((rootfs / "home").iterdir()) == []
        uids = {
            line.split(":")[0]: int(line.split(":")[2])
            for line in (rootfs / "etc/passwd").read_text().splitlines()
        }
        assert uids["nobody"] == 65534
        assert not [u for u in uids.values() if 1000 <= u < 65534]
        target = rootfs / "etc/systemd/system/default.target"
        if release.startswith("R36"):
            assert os.readlink(target) == "/lib/systemd/system/nv-oem-config.target"
            assert (rootfs / "etc/nv").is_dir()
        else:
            assert os.readlink(target) != "/lib/systemd/system/nv-oem-config.target"


def _dpkg_packages(tree: SimTree) -> set[str]:
    status = (tree.lft / "rootfs/var/lib/dpkg/status").read_text()
    return set(re.findall(r"^Package: (\S+)$", status, re.M))


def test_l4t_package_markers_per_release(sim_trees: dict[tuple[str, str], SimTree]) -> None:
    for (key, release), tree in sim_trees.items():
        pkgs = _dpkg_packages(tree)
        assert {"nvidia-l4t-core", "nvidia-l4t-kernel", "nvidia-l4t-nvpmodel"} <= pkgs
        bsp = {p for p in pkgs if p.startswith("nvidia-l4t-bsp")}
        assert bool(bsp) == (release == "R39.2.0"), (key, release, bsp)
        info = tree.lft / "rootfs/var/lib/dpkg/info/nvidia-l4t-core.list"
        assert "/etc/nv_tegra_release" in info.read_text().splitlines()
        debs = sorted(p.name for p in (tree.lft / "nv_tegra/l4t_deb_packages").iterdir())
        assert f"nvidia-l4t-core_{RELEASES[release].deb_version}_arm64.deb" in debs
        assert re.fullmatch(r"\d{14}", RELEASES[release].deb_stamp)


def test_nvpmodel_and_fan_files_have_real_names(sim_trees: dict[tuple[str, str], SimTree]) -> None:
    orin = sim_trees[("orin-agx", "R36.4.3")].lft / "rootfs/etc"
    names = {p.name for p in (orin / "nvpmodel").iterdir()}
    assert {
        "nvpmodel_p3701_0000.conf",
        "nvpmodel_p3767_0003.conf",
        "nvpmodel_p3767_0003_super.conf",
    } <= names
    assert "nvpmodel_p3767_0005.conf" not in names and "nvpmodel_p3701_0005.conf" not in names
    fans = {p.name for p in (orin / "nvpower/nvfancontrol").iterdir()}
    assert fans == {
        "nvfancontrol_p3701_0000.conf",
        "nvfancontrol_p3701_0002.conf",
        "nvfancontrol_p3767_0000.conf",
    }
    old = {
        p.name for p in (sim_trees[("orin-agx", "R36.2.0")].lft / "rootfs/etc/nvpmodel").iterdir()
    }
    assert not [n for n in old if "super" in n]
    thor = sim_trees[("thor-agx", "R38.4.0")].lft / "rootfs/etc"
    assert (thor / "nvpower/nvfancontrol/nvfancontrol_p3834_0008_p4071_0000.conf").is_file()
    model = (thor / "nvpmodel/nvpmodel_p3834_0008.conf").read_text()
    assert "< POWER_MODEL ID=0 NAME=MAXN >" in model and "< PM_CONFIG DEFAULT=0 >" in model
    nano = (orin / "nvpmodel/nvpmodel_p3767_0003.conf").read_text()
    assert re.findall(r"POWER_MODEL ID=\d+ NAME=(\S+) >", nano) == ["15W", "7W"]
    fan = (orin / "nvpower/nvfancontrol/nvfancontrol_p3701_0000.conf").read_text()
    for word in (
        "POLLING_INTERVAL",
        "<FAN 1>",
        "FAN_PROFILE cool",
        "FAN_PROFILE quiet",
        "FAN_DEFAULT_PROFILE cool",
        "KICKSTART_PWM",
    ):
        assert word in fan


@pytest.mark.parametrize(
    "dtb,model,compatible",
    [
        (
            "tegra234-p3737-0000+p3701-0000-nv.dtb",
            "NVIDIA Jetson AGX Orin Developer Kit",
            ["nvidia,p3737-0000+p3701-0000", "nvidia,p3701-0000", "nvidia,tegra234"],
        ),
        (
            "tegra234-p3768-0000+p3767-0005-nv.dtb",
            "NVIDIA Jetson Orin Nano Developer Kit",
            ["nvidia,p3768-0000+p3767-0005", "nvidia,p3767-0005", "nvidia,tegra234"],
        ),
        (
            "tegra234-p3768-0000+p3767-0005-nv-super.dtb",
            "NVIDIA Jetson Orin Nano Engineering Reference Developer Kit Super",
            ["nvidia,p3768-0000+p3767-0005-super", "nvidia,p3767-0005", "nvidia,tegra234"],
        ),
    ],
)
def test_kernel_dtbs_carry_the_real_identity(
    default_trees: dict[str, SimTree], dtb: str, model: str, compatible: list[str]
) -> None:
    props = read_root_strings((default_trees["orin-agx"].lft / "kernel/dtb" / dtb).read_bytes())
    assert props["model"] == [model] and props["compatible"] == compatible


def test_thor_dtb_identity(default_trees: dict[str, SimTree]) -> None:
    dtb = default_trees["thor-agx"].lft / "kernel/dtb/tegra264-p4071-0000+p3834-0008-nv.dtb"
    props = read_root_strings(dtb.read_bytes())
    assert props["model"] == ["NVIDIA Jetson AGX Thor Developer Kit"]
    assert props["compatible"][0] == "nvidia,p4071-0000+p3834-0008"


def test_tools_layout_per_release(sim_trees: dict[tuple[str, str], SimTree]) -> None:
    for (_key, release), tree in sim_trees.items():
        lft = tree.lft
        assert (lft / "tools/board_automation").is_dir()
        assert (lft / "tools/kernel_flash/host_udev").is_dir()
        assert list((lft / "tools/kernel_flash").glob("flash_l4t_*.xml"))
        top = lft / "l4t_initrd_flash.sh"
        if release == "R39.2.0":
            assert os.readlink(top) == "tools/kernel_flash/l4t_initrd_flash.sh"
        else:
            assert not top.is_symlink() and not top.exists()
        if release.startswith("R36"):
            assert (lft / "tools/board_automation/libnvtopo.so").is_file()
        else:
            targets = sorted(p.name for p in (lft / "tools/board_automation/_targets").iterdir())
            assert "topo.py" in targets and "thor-jetson-module.py" in targets
    assert Lft(sim_trees[("thor-agx", "R38.4.0")].lft).initrd_flash.name == "l4t_initrd_flash.sh"


def test_thor_flash_layouts(default_trees: dict[str, SimTree]) -> None:
    lft = default_trees["thor-agx"].lft
    assert (lft / "tools/kernel_flash/flash_l4t_t264_nvme.xml").is_file()
    assert (lft / "bootloader/flash_l4t_t264_bct_cfg.xml").is_file()


@pytest.mark.parametrize("cvb", [True, False])
@pytest.mark.parametrize("key", sorted(BOARDS))
def test_nvpower_sh_is_valid_bash_with_or_without_cvb(tmp_path: Path, key: str, cvb: bool) -> None:
    files = tree_files(BOARDS[key], BOARDS[key].release(), nvpower_cvb=cvb)
    script = files.files["rootfs/etc/systemd/nvpower.sh"].decode()
    path = tmp_path / "nvpower.sh"
    path.write_text(script)
    subprocess.run(["bash", "-n", str(path)], check=True, timeout=10)
    assert ("cvb=" in script) == cvb
    assert script.startswith("#!/bin/bash")
    chip = "tegra264" if key == "thor-agx" else "tegra234"
    assert f'if [ "${{SOCFAMILY}}" = "{chip}" ]; then' in script


def _run_nvpower(tmp_path: Path, script: str, compatible: str) -> tuple[str, Path, Path]:
    proc_dt = tmp_path / "dt"
    etc = tmp_path / "etc"
    proc_dt.mkdir()
    (etc / "nvpmodel").mkdir(parents=True)
    (etc / "nvpower/nvfancontrol").mkdir(parents=True)
    for name in (
        "nvpmodel_p3701_0000",
        "nvpmodel_p3767_0003",
        "nvpmodel_p3767_0003_super",
        "nvpmodel_p3767_0000",
        "nvpmodel_p3834_0008",
    ):
        (etc / "nvpmodel" / f"{name}.conf").write_text(name)
    for name in ("p3701_0000", "p3767_0000", "p3834_0008_p4071_0000"):
        (etc / "nvpower/nvfancontrol" / f"nvfancontrol_{name}.conf").write_text(name)
    (proc_dt / "compatible").write_bytes(compatible.encode())
    text = script.replace("/proc/device-tree", str(proc_dt)).replace("/etc/", f"{etc}/")
    text = text.replace("/sys/", f"{tmp_path}/sys/")
    path = tmp_path / "nvpower.sh"
    path.write_text(text)
    out = subprocess.run(["bash", str(path)], capture_output=True, text=True, timeout=10)
    return out.stdout, etc / "nvpmodel.conf", etc / "nvfancontrol.conf"


@pytest.mark.parametrize(
    "key,cvb,compatible,model,fan",
    [
        (
            "orin-agx",
            False,
            "nvidia,p3737-0000+p3701-0000\0nvidia,p3701-0000\0nvidia,tegra234\0",
            "nvpmodel_p3701_0000.conf",
            "nvfancontrol_p3701_0000.conf",
        ),
        (
            "orin-nano",
            False,
            "nvidia,p3768-0000+p3767-0005\0nvidia,p3767-0005\0nvidia,tegra234\0",
            "nvpmodel_p3767_0003.conf",
            "nvfancontrol_p3767_0000.conf",
        ),
        (
            "orin-nano",
            True,
            "nvidia,p3768-0000+p3767-0005-super\0nvidia,p3767-0005\0nvidia,tegra234\0",
            "nvpmodel_p3767_0003_super.conf",
            "nvfancontrol_p3767_0000.conf",
        ),
        (
            "thor-agx",
            True,
            "nvidia,p4071-0000+p3834-0008\0nvidia,p3834-0008\0nvidia,tegra264\0",
            "nvpmodel_p3834_0008.conf",
            "nvfancontrol_p3834_0008_p4071_0000.conf",
        ),
    ],
)
def test_nvpower_cascades_pick_the_real_files(
    tmp_path: Path, key: str, cvb: bool, compatible: str, model: str, fan: str
) -> None:
    files = tree_files(BOARDS[key], BOARDS[key].release(), nvpower_cvb=cvb)
    script = files.files["rootfs/etc/systemd/nvpower.sh"].decode()
    _, pm_link, fan_link = _run_nvpower(tmp_path, script, compatible)
    assert os.readlink(pm_link).endswith("/" + model)
    assert os.readlink(fan_link).endswith("/" + fan)


def test_nvpower_warns_about_a_missing_conf(tmp_path: Path) -> None:
    files = tree_files(BOARDS["orin-agx"], BOARDS["orin-agx"].release(), nvpower_cvb=False)
    script = files.files["rootfs/etc/systemd/nvpower.sh"].decode()
    out, pm_link, _ = _run_nvpower(
        tmp_path, script, "nvidia,p3737-0000+p3701-0004\0nvidia,tegra234\0"
    )
    assert "WARNING: file" in out and "nvpmodel_p3701_0004.conf not found!" in out
    assert not pm_link.exists()


def test_tree_is_deterministic() -> None:
    board = BOARDS["orin-nano"]
    assert tree_files(board, board.release()) == tree_files(board, board.release())


def test_refuses_a_non_empty_destination(default_trees: dict[str, SimTree]) -> None:
    with pytest.raises(UsageError, match="not empty"):
        make_tree(default_trees["orin-agx"].root, "orin-agx")


def test_full_size_tree_has_realistic_scale() -> None:
    board = BOARDS["orin-agx"]
    files = tree_files(board, board.release(), full_size=True)
    rootfs = [r for r in files.files if r.startswith("rootfs/")]
    assert len(rootfs) >= 20_000
    image = files.files["kernel/Image"]
    assert 50 * 1024 * 1024 < len(image) < 70 * 1024 * 1024
    assert image == files.files["rootfs/boot/Image"]


@pytest.mark.parametrize("key", sorted(BOARDS))
def test_derive_carrier_nvpower_anchors_exist_only_in_the_cvb_variant(key: str) -> None:
    board = BOARDS[key]
    module = (
        f"{board.module_id}-0000" if key == "orin-agx" else f"{board.module_id}-{board.module_sku}"
    )
    sku_elif = f'elif [[ "${{machine}}" =~ "{module}" ]]; then'
    cvb_branch = f'elif [[ "${{machine}}" =~ "{board.carrier_id}" ]]; then'
    chip = f'if [ "${{SOCFAMILY}}" = "{board.chip.prefix}" ]; then'
    with_cvb = tree_files(board, board.release(), nvpower_cvb=True)
    without = tree_files(board, board.release(), nvpower_cvb=False)
    script = with_cvb.files["rootfs/etc/systemd/nvpower.sh"].decode()
    assert sku_elif in script and cvb_branch in script
    assert script.count(chip) == 2
    r35_like = without.files["rootfs/etc/systemd/nvpower.sh"].decode()
    assert cvb_branch not in r35_like and "cvb" not in r35_like
