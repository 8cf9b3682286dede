"""Sourcing the simulated confs in bash the way flash.sh does gives the values the real
confs give."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_jetson.lft.conf import ConfDispatchError, evaluate_conf
from pytest_jetson.lft.paths import Lft
from pytest_jetson.lft.scan import hook_functions, variable_assignments
from pytest_jetson.sim.tree import SimTree

BCT_VARS = (
    "PINMUX_CONFIG",
    "PMC_CONFIG",
    "GPIOINT_CONFIG",
    "MISC_CONFIG",
    "MB2_BCT",
    "SCR_CONFIG",
    "PMIC_CONFIG",
    "DEVICE_CONFIG",
    "DEVICEPROD_CONFIG",
    "PROD_CONFIG",
    "BOOTROM_CONFIG",
    "MINRATCHET_CONFIG",
    "EMMC_BCT",
    "WB0SDRAM_BCT",
    "EMC_BCT",
    "BPMP_MEM_CONFIG",
    "UPHY_CONFIG",
)
ALL_VARS = (
    "DTB_FILE",
    "TBCDTB_FILE",
    "BPFDTB_FILE",
    "BPFFILE",
    "GPIO_CONFIG",
    "UPHYLANE_CONFIG",
    "EMMC_CFG",
    "OVERLAY_DTB_FILE",
    "CMDLINE_ADD",
    "DEFAULT_CHIP_SKU",
    "EXTERNAL_DEVICE",
    "EXTERNAL_PT_LAYOUT",
    "COLDBOOT_BCT_CFG",
    "target_board",
    "_UNIFIED_FLASH",
    "ROOTFSSIZE",
    "RAMCODE",
    *BCT_VARS,
)


def flash_values(
    tree: SimTree, conf: str, board_id: str, sku: str, fab: str, chip: str
) -> dict[str, str]:
    return evaluate_conf(
        tree.lft, conf, board_id=board_id, board_sku=sku, fab=fab, chip_sku=chip, variables=ALL_VARS
    )


def assert_named_files_exist(tree: SimTree, values: dict[str, str]) -> None:
    """Every file the dispatch picked is where flash.sh looks for it."""
    lft = Lft(tree.lft)
    assert (lft.kernel_dtb_dir / values["DTB_FILE"]).is_file(), values["DTB_FILE"]
    assert (lft.bootloader / "generic" / values["BPFDTB_FILE"]).is_file(), values["BPFDTB_FILE"]
    assert (lft.root / values["BPFFILE"]).is_file(), values["BPFFILE"]
    for var in BCT_VARS:
        if values.get(var):
            assert (lft.bct_dir() / values[var]).is_file(), (var, values[var])
    if "UPHYLANE_CONFIG" in values:
        assert (lft.bootloader / values["UPHYLANE_CONFIG"]).is_file()
    for dtbo in values["OVERLAY_DTB_FILE"].split(","):
        assert (lft.kernel_dtb_dir / dtbo).is_file(), dtbo
    if "EMMC_CFG" in values:
        assert (lft.cfg_dir() / values["EMMC_CFG"]).is_file()
    for var in ("EXTERNAL_PT_LAYOUT", "COLDBOOT_BCT_CFG"):
        if var in values:
            assert (lft.root / values[var]).is_file(), values[var]


AGX = "jetson-agx-orin-devkit"
AGX_CASES = [
    # sku, fab, chip_SKU, DTB suffix, BPFDTB, BPF, PMIC, EMMC_BCT, pinmux
    (
        "0000",
        "500",
        "00:00:00:D0",
        "0000",
        "3701-0000-3737-0000",
        "TE990M-A1",
        "p3701-0000",
        "0000",
        "-a04",
    ),
    (
        "0001",
        "300",
        "00:00:00:D0",
        "0000",
        "3701-0000-3737-0000",
        "TE990M-A1",
        "p3701-0000",
        "0000",
        "-a04",
    ),
    (
        "0002",
        "500",
        "00:00:00:97",
        "0000",
        "3701-0000-3737-0000",
        "TA990SA-A1",
        "p3701-0000",
        "0000",
        "-a04",
    ),
    (
        "0004",
        "500",
        "00:00:00:D2",
        "0004",
        "3701-0004-3737-0000",
        "TE990M-A1",
        "p3701-0005",
        "0000",
        "-a04",
    ),
    (
        "0005",
        "500",
        "00:00:00:D0",
        "0005",
        "3701-0005-3737-0000",
        "TE990M-A1",
        "p3701-0005",
        "0005",
        "-a04",
    ),
    (
        "0008",
        "500",
        "00:00:00:90",
        "0008",
        "3701-0008-3737-0000",
        "TE992M-A1",
        "p3701-0000",
        "0008",
        "-a04",
    ),
    (
        "0000",
        "TS1",
        "00:00:00:D0",
        "0000",
        "3701-0000-3737-0000",
        "TE990M-A1",
        "p3701-0000",
        "0000",
        "",
    ),
    (
        "0004",
        "200",
        "00:00:00:00",
        "0004",
        "3701-0004-3737-0000",
        "TE990M-A1",
        "p3701-0005",
        "0000",
        "",
    ),
    (
        "0005",
        "TS1",
        "00:00:00:D0",
        "0005",
        "3701-0005-3737-0000",
        "TE990M-A1",
        "p3701-0005",
        "0005",
        "-a04",
    ),
    (
        "0000",
        "EB2",
        "00:00:00:9E",
        "0000",
        "3701-0000-3737-0000",
        "TA990SA-A1",
        "p3701-0000",
        "0000",
        "-a04",
    ),
]


@pytest.mark.parametrize("release", ["R36.2.0", "R36.4.3"])
@pytest.mark.parametrize("sku,fab,chip,dtb,bpmp,bpf,pmic,sdram,pinmux", AGX_CASES)
def test_agx_orin_dispatch(
    sim_trees: dict[tuple[str, str], SimTree],
    release: str,
    sku: str,
    fab: str,
    chip: str,
    dtb: str,
    bpmp: str,
    bpf: str,
    pmic: str,
    sdram: str,
    pinmux: str,
) -> None:
    tree = sim_trees[("orin-agx", release)]
    values = flash_values(tree, AGX, "3701", sku, fab, chip)
    assert values["DTB_FILE"] == f"tegra234-p3737-0000+p3701-{dtb}-nv.dtb" == values["TBCDTB_FILE"]
    assert values["BPFDTB_FILE"] == f"tegra234-bpmp-{bpmp}.dtb"
    assert values["BPFFILE"] == f"bootloader/bpmp_t234-{bpf}_prod.bin"
    assert values["PMIC_CONFIG"] == f"tegra234-mb1-bct-pmic-{pmic}.dts"
    assert values["EMMC_BCT"] == f"tegra234-p3701-{sdram}-sdram-l4t.dts"
    assert values["PINMUX_CONFIG"] == f"tegra234-mb1-bct-pinmux-p3701-0000{pinmux}.dtsi"
    assert values["PMC_CONFIG"] == f"tegra234-mb1-bct-padvoltage-p3701-0000{pinmux}.dtsi"
    assert "GPIO_CONFIG" not in values
    assert values["target_board"] == "generic"
    assert values["UPHYLANE_CONFIG"] == "tegra234-mb1-bct-uphylane-si.dtsi"
    assert "UPHY_CONFIG" not in values
    assert values["EMMC_CFG"] == "flash_t234_qspi_sdmmc.xml"
    assert values["DEFAULT_CHIP_SKU"] == "00:00:00:D0"
    assert values["CMDLINE_ADD"].startswith("console=ttyTCU0,115200 console=ttyAMA0,115200")
    assert values["OVERLAY_DTB_FILE"].startswith(
        "L4TConfiguration.dtbo,tegra234-p3737-0000+p3701-0000-dynamic.dtbo,"
        "tegra234-carveouts.dtbo,tegra-optee.dtbo,"
    )
    assert_named_files_exist(tree, values)


@pytest.mark.parametrize("sku", ["0003", "0009", "1234"])
def test_agx_orin_unknown_sku_fails_like_nvidia(
    default_trees: dict[str, SimTree], sku: str
) -> None:
    with pytest.raises(ConfDispatchError) as info:
        flash_values(default_trees["orin-agx"], AGX, "3701", sku, "500", "00:00:00:D0")
    assert info.value.returncode == 1
    assert f"Error: Unrecognized module SKU {sku}" in info.value.output.splitlines()
    assert f"Unrecognized module SKU {sku}" in str(info.value)


NANO = "jetson-orin-nano-devkit"
NANO_CASES = [
    # sku, fab, chip, BPFDTB, BPF, EMMC_BCT sku, pinmux/pmc, PMIC
    ("0005", "RC1", "00:00:00:D5", "3767-0003-3509-a02", "TE950M-A1", "0001", "dp-a03", "0000-a02"),
    ("0003", "000", "00:00:00:D5", "3767-0003-3509-a02", "TE950M-A1", "0001", "dp-a03", "0000-a02"),
    ("0004", "300", "00:00:00:D6", "3767-0004-3509-a02", "TE950M-A1", "0004", "dp-a03", "0000-a02"),
    ("0001", "300", "00:00:00:D4", "3767-0001-3509-a02", "TE980M-A1", "0001", "dp-a03", "0000-a02"),
    (
        "0000",
        "300",
        "00:00:00:D3",
        "3767-0000-a02-3509-a02",
        "TE980M-A1",
        "0000",
        "dp-a03",
        "0000-a02",
    ),
    (
        "0000",
        "TS1",
        "00:00:00:D3",
        "3767-0000-a00-3509-a02",
        "TE980M-A1",
        "0000",
        "dp-a01",
        "0000-a00",
    ),
    (
        "0002",
        "EB1",
        "00:00:00:D3",
        "3767-0000-a00-3509-a02",
        "TE980M-A1",
        "0000",
        "dp-a01",
        "0000-a00",
    ),
    ("0003", "TS1", "00:00:00:D5", "3767-0003-3509-a02", "TE950M-A1", "0001", "dp-a03", "0000-a02"),
]


@pytest.mark.parametrize("release", ["R36.2.0", "R36.4.3"])
@pytest.mark.parametrize("sku,fab,chip,bpmp,bpf,sdram,pinmux,pmic", NANO_CASES)
def test_orin_nano_dispatch(
    sim_trees: dict[tuple[str, str], SimTree],
    release: str,
    sku: str,
    fab: str,
    chip: str,
    bpmp: str,
    bpf: str,
    sdram: str,
    pinmux: str,
    pmic: str,
) -> None:
    tree = sim_trees[("orin-nano", release)]
    values = flash_values(tree, NANO, "3767", sku, fab, chip)
    assert values["DTB_FILE"] == f"tegra234-p3768-0000+p3767-{sku}-nv.dtb"
    assert values["BPFDTB_FILE"] == f"tegra234-bpmp-{bpmp}.dtb"
    assert values["BPFFILE"] == f"bootloader/bpmp_t234-{bpf}_prod.bin"
    assert values["EMMC_BCT"] == f"tegra234-p3767-{sdram}-sdram-l4t.dts"
    assert values["PINMUX_CONFIG"] == f"tegra234-mb1-bct-pinmux-p3767-{pinmux}.dtsi"
    assert values["PMC_CONFIG"] == f"tegra234-mb1-bct-padvoltage-p3767-{pinmux}.dtsi"
    assert values["PMIC_CONFIG"] == f"tegra234-mb1-bct-pmic-p3767-{pmic}.dts"
    assert values["MISC_CONFIG"] == "tegra234-mb1-bct-misc-p3767-0000.dts"
    assert values["GPIOINT_CONFIG"] == "tegra234-mb1-bct-gpioint-p3767-0000.dts"
    assert values["EMMC_CFG"] == "flash_t234_qspi_sd.xml"
    assert values["DEFAULT_CHIP_SKU"] == "00:00:00:D3"
    assert values["CMDLINE_ADD"].startswith("console=ttyTCU0,115200")
    assert "ttyAMA0" not in values["CMDLINE_ADD"]
    assert values["OVERLAY_DTB_FILE"] == (
        "L4TConfiguration.dtbo,tegra234-carveouts.dtbo,tegra-optee.dtbo,"
        "tegra234-p3768-0000+p3767-0000-dynamic.dtbo"
    )
    assert "GPIO_CONFIG" not in values and "EXTERNAL_DEVICE" not in values
    assert_named_files_exist(tree, values)


def test_orin_nano_nvme_conf(default_trees: dict[str, SimTree]) -> None:
    tree = default_trees["orin-nano"]
    values = flash_values(
        tree, "jetson-orin-nano-devkit-nvme", "3767", "0005", "RC1", "00:00:00:D5"
    )
    assert values["EMMC_CFG"] == "flash_t234_qspi_nvme.xml"
    assert values["DTB_FILE"] == "tegra234-p3768-0000+p3767-0005-nv.dtb"
    assert_named_files_exist(tree, values)


@pytest.mark.parametrize(
    "sku,bpmp_sku",
    [("0005", "0003"), ("0003", "0003"), ("0004", "0004"), ("0000", "0000"), ("0001", "0001")],
)
def test_orin_nano_super_dispatch(
    default_trees: dict[str, SimTree], sku: str, bpmp_sku: str
) -> None:
    tree = default_trees["orin-nano"]
    values = flash_values(tree, "jetson-orin-nano-devkit-super", "3767", sku, "300", "00:00:00:D5")
    assert (
        values["DTB_FILE"]
        == f"tegra234-p3768-0000+p3767-{sku}-nv-super.dtb"
        == values["TBCDTB_FILE"]
    )
    assert values["BPFDTB_FILE"] == f"tegra234-bpmp-3767-{bpmp_sku}-3768-super.dtb"
    assert_named_files_exist(tree, values)


@pytest.mark.parametrize("fab", ["TS1", "EB1"])
def test_orin_nano_super_refuses_engineering_fabs(
    default_trees: dict[str, SimTree], fab: str
) -> None:
    with pytest.raises(ConfDispatchError) as info:
        flash_values(
            default_trees["orin-nano"],
            "jetson-orin-nano-devkit-super",
            "3767",
            "0005",
            fab,
            "00:00:00:D5",
        )
    assert f"Error: {fab} can't be used for super mode" in info.value.output


THOR = "jetson-agx-thor-devkit"
PLAIN = "tegra264-mb1-bct-pmic-p3834-0008-p4071-0000.dts"
AON = "tegra264-mb1-bct-pmic-p3834-0008-p4071-0000-vdd-fuse-aon.dts"


@pytest.mark.parametrize(
    "release,fab,pmic",
    [
        ("R38.4.0", "400", PLAIN),
        ("R38.4.0", "500", AON),
        ("R38.4.0", "000", PLAIN),
        ("R38.4.0", "ES1", PLAIN),
        ("R38.2.0", "401", AON),
        ("R38.2.0", "TS2", PLAIN),
        ("R39.2.0", "400", PLAIN),
        ("R39.2.0", "500", AON),
        ("R39.2.0", "401", AON),
        ("R39.2.0", "TS2", PLAIN),
        ("R39.2.0", "EB8", PLAIN),
        ("R39.2.0", "RC1", PLAIN),
        ("R39.2.0", "ES1", AON),
        ("R39.2.0", "TS5", AON),
    ],
)
def test_thor_pmic_follows_the_fab_per_release(
    sim_trees: dict[tuple[str, str], SimTree], release: str, fab: str, pmic: str
) -> None:
    tree = sim_trees[("thor-agx", release)]
    values = flash_values(tree, THOR, "3834", "0008", fab, "00:00:00:A0")
    assert values["PMIC_CONFIG"] == pmic
    assert_named_files_exist(tree, values)


@pytest.mark.parametrize(
    "chip,bpf",
    [
        ("00:00:00:A3", "TA1080SA-A1"),
        ("00:00:00:A0", "TA1090SA-A1"),
        ("00:00:00:E0", "TE1090M-A1"),
        ("00:00:00:E2", "TE1070M-A1"),
    ],
)
def test_thor_bpmp_firmware_follows_the_chip_sku(
    default_trees: dict[str, SimTree], chip: str, bpf: str
) -> None:
    values = flash_values(default_trees["thor-agx"], THOR, "3834", "0008", "400", chip)
    assert values["BPFFILE"] == f"bootloader/bpmp_t264-{bpf}_prod.bin"


def test_thor_static_values(default_trees: dict[str, SimTree]) -> None:
    tree = default_trees["thor-agx"]
    values = flash_values(tree, THOR, "3834", "0008", "400", "00:00:00:A0")
    assert values["DTB_FILE"] == "tegra264-p4071-0000+p3834-0008-nv.dtb"
    assert values["BPFDTB_FILE"] == "tegra264-bpmp-3834-0008-4071-xxxx.dtb"
    assert values["PINMUX_CONFIG"] == "tegra264-mb1-bct-pinmux-p3834-xxxx-p4071-0000.dts"
    assert values["MISC_CONFIG"] == "tegra264-mb1-bct-misc-p3834-0008-p4071-0000.dts"
    assert values["SCR_CONFIG"] == "tegra264-mb2-bct-firewall-p3834-xxxx-p4071-0000.dts"
    assert values["UPHY_CONFIG"] == "tegra264-mb1-bct-uphy-lanes-p4071-0000.dts"
    assert values["EMC_BCT"] == "tegra264-p3834-0008-sdram-bct-l4t.dts" and "EMMC_BCT" not in values
    assert values["BOOTROM_CONFIG"] == "" and values["RAMCODE"] == "12"
    assert values["EXTERNAL_DEVICE"] == "nvme0n1p1"
    assert values["EXTERNAL_PT_LAYOUT"] == "tools/kernel_flash/flash_l4t_t264_nvme.xml"
    assert values["COLDBOOT_BCT_CFG"] == "bootloader/flash_l4t_t264_bct_cfg.xml"
    assert values["_UNIFIED_FLASH"] == "1" and values["ROOTFSSIZE"] == "55GiB"
    assert values["DEFAULT_CHIP_SKU"] == "00:00:00:00"
    assert values["CMDLINE_ADD"].startswith(
        "earlycon=tegra_utc,mmio32,0xc5a0000 console=ttyUTC0,115200"
    )
    assert values["OVERLAY_DTB_FILE"] == (
        "L4TConfiguration.dtbo,tegra264-ftpm.dtbo,T264SetFmpImageTypeGuid.dtbo,"
        "tegra264-p4071-0000+p3834-xxxx-dynamic.dtbo"
    )
    assert "GPIO_CONFIG" not in values and "UPHYLANE_CONFIG" not in values
    t4000 = flash_values(tree, "jetson-agx-thor-t4000", "3834", "0000", "400", "00:00:00:E2")
    assert t4000["DTB_FILE"] == "tegra264-p4071-0000+p3834-0000-nv.dtb"
    assert_named_files_exist(tree, t4000)


def test_where_variables_are_set_matches_the_real_split(default_trees: dict[str, SimTree]) -> None:
    agx = variable_assignments(default_trees["orin-agx"].lft, AGX)
    pinmux = [(a.file.name, a.function) for a in agx["PINMUX_CONFIG"]]
    assert ("p3701.conf.common", None) in pinmux
    assert ("p3701.conf.common", "update_flash_args_common") in pinmux
    assert {a.file.name for a in agx["MISC_CONFIG"]} == {"p3701.conf.common"}
    assert [(a.file.name, a.function) for a in agx["DTB_FILE"] if a.function is None] == [
        ("p3737-0000-p3701-0000.conf", None)
    ]
    assert {a.function for a in agx["BPFDTB_FILE"]} == {"update_flash_args"}
    assert "GPIO_CONFIG" not in agx

    nano = variable_assignments(default_trees["orin-nano"].lft, NANO)
    top = "p3768-0000-p3767-0000-a0.conf"
    for var in ("MISC_CONFIG", "MB2_BCT", "GPIOINT_CONFIG"):
        assert {a.file.name for a in nano[var]} == {"p3767.conf.common"}, var
    assert (top, None) in [(a.file.name, a.function) for a in nano["PINMUX_CONFIG"]]
    assert ("p3767.conf.common", "process_board_version") in [
        (a.file.name, a.function) for a in nano["PINMUX_CONFIG"]
    ]
    overlay = [a for a in nano["OVERLAY_DTB_FILE"] if a.file.name == top]
    assert overlay[0].op == "+=" and overlay[0].value.startswith(",")
    super_hooks = hook_functions(default_trees["orin-nano"].lft, "jetson-orin-nano-devkit-super")
    assert super_hooks["p3767_super_overlay"].name == "p3768-0000-p3767-0000-super.conf"
    assert super_hooks["update_flash_args"].name == "p3768-0000-p3767-0000-super.conf"

    thor_lft = default_trees["thor-agx"].lft
    thor = variable_assignments(thor_lft, THOR)
    assert {a.file.name for a in thor["GPIOINT_CONFIG"]} == {"p3834-0008-p4071-0000-nvme.conf"}
    assert re.search(r"^#GPIOINT_CONFIG=", (thor_lft / "t264.conf.common").read_text(), re.M)
    assert {a.function for a in thor["BPFFILE"]} == {"process_chip_sku_version"}
    assert {a.file.name for a in thor["_UNIFIED_FLASH"]} == {"t264.conf.common"}


def test_confs_source_like_nvidia(default_trees: dict[str, SimTree]) -> None:
    for tree in default_trees.values():
        for conf in list(tree.lft.glob("*.conf")) + list(tree.lft.glob("*.conf.common")):
            if conf.is_symlink():
                continue
            for line in conf.read_text().splitlines():
                if line.startswith("source"):
                    assert re.fullmatch(r'source "\$\{LDK_DIR\}/[^"/]+";', line), (conf, line)


def test_gpio_config_variant_points_at_an_existing_file(tmp_path: Path) -> None:
    from pytest_jetson.sim.tree import make_tree

    for key, conf in (("orin-agx", AGX), ("orin-nano", NANO), ("thor-agx", THOR)):
        tree = make_tree(tmp_path / key, key, with_gpio_config=True)
        values = evaluate_conf(
            tree.lft,
            conf,
            board_id=tree.board.eeprom.board_id,
            board_sku=tree.board.module_sku,
            fab=tree.board.eeprom.fab,
            chip_sku=tree.board.eeprom.chip_sku,
            variables=["GPIO_CONFIG"],
        )
        lft = Lft(tree.lft)
        name = values["GPIO_CONFIG"]
        assert (lft.bootloader / name).is_file() or (lft.bct_dir() / name).is_file()


@pytest.mark.parametrize(
    ("key", "conf", "identity", "variable", "plain", "ab"),
    [
        pytest.param(
            "orin-agx",
            AGX,
            ("3701", "0000", "500", "00:00:00:D0"),
            "EMMC_CFG",
            "flash_t234_qspi_sdmmc.xml",
            "flash_t234_qspi_sdmmc_rootfs_ab.xml",
            id="agx-emmc-cfg",
        ),
        pytest.param(
            "thor-agx",
            THOR,
            ("3834", "0008", "400", "00:00:00:A0"),
            "EXTERNAL_PT_LAYOUT",
            "tools/kernel_flash/flash_l4t_t264_nvme.xml",
            "tools/kernel_flash/flash_l4t_t264_nvme_rootfs_ab.xml",
            id="thor-external-layout",
        ),
    ],
)
def test_layouts_follow_the_rootfs_branches_only_in_bash(
    default_trees: dict[str, SimTree],
    key: str,
    conf: str,
    identity: tuple[str, str, str, str],
    variable: str,
    plain: str,
    ab: str,
) -> None:
    """As in the real confs, the layout is assigned again inside ROOTFS_AB/ROOTFS_ENC
    branches: the last assignment in the text is a branch's, and only bash, given flash.sh's
    environment, picks the right one."""
    lft = default_trees[key].lft
    last = variable_assignments(lft, conf)[variable][-1].value
    assert last not in (plain, ab) and "enc" in last
    board_id, sku, fab, chip = identity
    args = {"board_id": board_id, "board_sku": sku, "fab": fab, "chip_sku": chip}
    single = evaluate_conf(lft, conf, variables=[variable, "ROOTFSSIZE"], **args)
    both = evaluate_conf(lft, conf, variables=[variable, "ROOTFSSIZE"], rootfs_ab=True, **args)
    assert single[variable] == plain and both[variable] == ab
    size = int(single["ROOTFSSIZE"].removesuffix("GiB"))
    assert both["ROOTFSSIZE"] == f"{size // 2}GiB"  # two root file systems share the space
    assert (lft / "tools" / "kernel_flash" / Path(plain).name).is_file() or (
        Lft(lft).cfg_dir() / plain
    ).is_file()
