"""pytest_jetson.lft on hand-written trees: the shapes of real NVIDIA trees, R35 to R39."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pytest_jetson.errors import ConfigError, DeadlineExceeded
from pytest_jetson.lft.conf import DispatchInputs, dispatch_argv, dispatch_script, evaluate_conf
from pytest_jetson.lft.paths import Lft
from pytest_jetson.lft.release import parse_nv_tegra_release, parse_version
from pytest_jetson.lft.scan import conf_chain, hook_functions, variable_assignments

R35_LINE = (
    "# R35 (release), REVISION: 6.1, GCID: 39721438, BOARD: t186ref, EABI: aarch64, "
    "DATE: Tue Mar 11 02:09:39 UTC 2025\n"
    "TARGET_USERSPACE_LIB_DIR=nvidia\n"
    "TARGET_USERSPACE_LIB_DIR_PATH=usr/lib/aarch64-linux-gnu/tegra\n"
)


def test_parse_release_of_every_generation() -> None:
    r35 = parse_nv_tegra_release(R35_LINE)
    assert (r35.version, r35.board, r35.gcid, r35.kernel_variant) == (
        "R35.6.1",
        "t186ref",
        "39721438",
        "",
    )
    r39 = parse_nv_tegra_release(
        "# R39 (release), REVISION: 2.0, GCID: 45755727, BOARD: generic, EABI: aarch64, "
        "DATE: Mon Jun  1 09:17:31 PM UTC 2026\n# KERNEL_VARIANT: oot\n"
    )
    assert r39.version == "R39.2.0" and r39.date == "Mon Jun  1 09:17:31 PM UTC 2026"
    assert r39.kernel_variant == "oot" and r39.version_tuple == (39, 2, 0)
    assert parse_version("R36.4.3") == (36, 4, 3)
    with pytest.raises(ConfigError, match="R<major>"):
        parse_nv_tegra_release("hello\n")
    with pytest.raises(ConfigError, match="not an L4T version"):
        parse_version("36.4")


def _write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def r35_tree(tmp_path: Path) -> Lft:
    """An R35-shaped tree: ``+`` names, ``t186ref``, unquoted ``$LDK_DIR`` and ``.``."""
    lft = tmp_path / "Linux_for_Tegra"
    _write(lft, "p3701.conf.common", 'target_board="t186ref";\nPINMUX_CONFIG="a.dtsi";\n')
    _write(lft, "p3737-0000+p3701-0000.conf.common", "source $LDK_DIR/p3701.conf.common;\n")
    _write(
        lft,
        "p3737-0000+p3701-0000.conf",
        ". ${LDK_DIR}/p3737-0000+p3701-0000.conf.common  # carrier\nDTB_FILE=x.dtb\n",
    )
    os.symlink("p3737-0000+p3701-0000.conf", lft / "jetson-agx-orin-devkit.conf")
    (lft / "bootloader/t186ref/BCT").mkdir(parents=True)
    _write(lft, "rootfs/etc/nv_tegra_release", R35_LINE)
    return Lft(lft)


def test_r35_chain_and_target_board(r35_tree: Lft) -> None:
    chain = conf_chain(r35_tree, "jetson-agx-orin-devkit")
    assert [p.name for p in chain] == [
        "p3737-0000+p3701-0000.conf",
        "p3737-0000+p3701-0000.conf.common",
        "p3701.conf.common",
    ]
    assert r35_tree.bct_dir() == r35_tree.root / "bootloader/t186ref/BCT"
    assert r35_tree.release().version == "R35.6.1"
    values = evaluate_conf(
        r35_tree,
        "jetson-agx-orin-devkit",
        board_id="3701",
        board_sku="0000",
        fab="500",
        chip_sku="00:00:00:D0",
        variables=["target_board", "PINMUX_CONFIG", "DTB_FILE", "NOPE"],
    )
    assert values == {"target_board": "t186ref", "PINMUX_CONFIG": "a.dtsi", "DTB_FILE": "x.dtb"}
    assert r35_tree.bct_dir(values["target_board"]) == r35_tree.root / "bootloader/t186ref/BCT"


def test_missing_pieces_are_named(tmp_path: Path) -> None:
    lft = Lft(tmp_path)
    with pytest.raises(ConfigError, match=r"nope\.conf not found"):
        conf_chain(lft, "nope")
    os.symlink("gone.conf", tmp_path / "dangling.conf")
    with pytest.raises(ConfigError, match=r"symlink to gone\.conf, which does not exist"):
        conf_chain(lft, "dangling.conf")
    _write(tmp_path, "top.conf", 'X=1;\nsource "${LDK_DIR}/missing.conf.common";\n')
    with pytest.raises(
        ConfigError, match=r"top.conf line 2 sources \$\{LDK_DIR\}/missing.conf.common"
    ) as info:
        conf_chain(lft, "top.conf")
    assert info.value.line == 2
    _write(tmp_path, "var.conf", 'source "${SOMEWHERE}/x.conf";\n')
    with pytest.raises(ConfigError, match="only"):
        conf_chain(lft, "var.conf")
    _write(tmp_path, "a.conf", 'source "${LDK_DIR}/b.conf";\n')
    _write(tmp_path, "b.conf", 'source "${LDK_DIR}/a.conf";\n')
    with pytest.raises(ConfigError, match="cycle"):
        conf_chain(lft, "a.conf")
    with pytest.raises(ConfigError, match="no nv_tegra_release"):
        lft.release()


def test_assignments_know_their_function_and_operator(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "board.conf",
        "# PINMUX_CONFIG=commented.dtsi\n"
        'PINMUX_CONFIG="top.dtsi"; # trailing comment\n'
        'OVERLAY_DTB_FILE+=",extra.dtbo";\n'
        "update_flash_args()\n{\n"
        '\tlocal fab="${board_FAB}";\n'
        '\tif [ "${fab}" = "TS1" ]; then\n'
        "\t\tPINMUX_CONFIG='early.dtsi';\n"
        "\tfi;\n}\n"
        "function process_board_version {\n\tFOO=${1}\n}\n"
        "export BAR=plain\n",
    )
    found = variable_assignments(tmp_path, "board")
    assert [(a.value, a.function, a.line) for a in found["PINMUX_CONFIG"]] == [
        ("top.dtsi", None, 2),
        ("early.dtsi", "update_flash_args", 8),
    ]
    assert found["OVERLAY_DTB_FILE"][0].op == "+="
    assert found["OVERLAY_DTB_FILE"][0].value == ",extra.dtbo"
    assert found["FOO"][0].function == "process_board_version"
    assert found["BAR"][0].function is None and found["BAR"][0].value == "plain"
    assert "fab" not in found


def test_hooks_receive_flash_sh_arguments(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "board.conf",
        "process_board_version()\n{\n"
        '\tSEEN_PBV="${1}|${2}|${3}|${4}";\n}\n'
        "process_chip_sku_version()\n{\n"
        '\tSEEN_PCSV="${1}|${5}|${6}";\n}\n'
        "update_flash_args()\n{\n"
        '\tSEEN_UFA="${board_sku}|${board_FAB}|${chip_SKU}|${target_rootdev}|${LDK_DIR}";\n}\n',
    )
    values = evaluate_conf(
        tmp_path,
        "board.conf",
        board_id="3701",
        board_sku="0005",
        fab="TS4",
        chip_sku="00:00:00:D0",
        board_rev="M.0",
        boot_device="nvme0n1p1",
        variables=["SEEN_PBV", "SEEN_PCSV", "SEEN_UFA"],
    )
    assert values["SEEN_PBV"] == "3701|TS4|0005|M.0"
    assert values["SEEN_PCSV"] == "00:00:00:D0|fuselevel_production|TS4"
    assert values["SEEN_UFA"] == f"0005|TS4|00:00:00:D0|nvme0n1p1|{tmp_path}"
    static = evaluate_conf(
        tmp_path,
        "board.conf",
        board_id="3701",
        board_sku="0005",
        fab="TS4",
        chip_sku="",
        variables=["SEEN_UFA"],
        hooks=False,
    )
    assert static == {}


def test_dispatch_script_is_reusable(tmp_path: Path) -> None:
    import subprocess

    _write(tmp_path, "board.conf", 'update_flash_args()\n{\n\tDTB_FILE="${board_sku}.dtb";\n}\n')
    result = tmp_path / "out"
    argv = dispatch_argv(
        tmp_path,
        "board",
        DispatchInputs("3701", "0004", "500", "00:00:00:D2"),
        ["DTB_FILE"],
        result,
    )
    assert argv[2] == dispatch_script()
    subprocess.run(argv, check=True, timeout=10)
    assert result.read_bytes() == b"DTB_FILE\x000004.dtb\x00"


def test_invalid_board_and_deadline(tmp_path: Path) -> None:
    _write(tmp_path, "slow.conf", "sleep 30\n")
    with pytest.raises(DeadlineExceeded, match=r"sourcing slow\.conf"):
        evaluate_conf(
            tmp_path,
            "slow",
            board_id="1",
            board_sku="1",
            fab="1",
            chip_sku="1",
            variables=["X"],
            timeout=0.5,
        )


def test_paths_and_initrd_flash_choice(tmp_path: Path) -> None:
    lft = Lft.from_bsp_root(tmp_path)
    assert lft.root == tmp_path / "Linux_for_Tegra"
    assert lft.initrd_flash == lft.root / "tools/kernel_flash/l4t_initrd_flash.sh"
    _write(lft.root, "tools/kernel_flash/l4t_initrd_flash.sh", "#!/bin/sh\n")
    os.symlink("tools/kernel_flash/l4t_initrd_flash.sh", lft.root / "l4t_initrd_flash.sh")
    assert lft.initrd_flash == lft.root / "l4t_initrd_flash.sh"
    assert lft.boardctl == lft.root / "tools/board_automation/boardctl"
    assert lft.create_default_user == lft.root / "tools/l4t_create_default_user.sh"
    assert lft.rootfs_image == lft.root / "rootfs/boot/Image"
    assert lft.path("bootloader/l4t_initrd.img") == lft.root / "bootloader/l4t_initrd.img"
    assert lft.path("/abs/initrd") == Path("/abs/initrd")
    assert lft.conf("jetson-agx-orin-devkit") == lft.root / "jetson-agx-orin-devkit.conf"
    assert lft.bct_dir() == lft.root / "bootloader/generic/BCT"


def test_bash_applies_appends_expansions_and_branches(tmp_path: Path) -> None:
    """What only bash knows: ``+=``, ``${VAR}``, quoting, and ``if`` branches on the
    environment flash.sh gives (ROOTFS_AB only when asked; ROOTFS_ENC never)."""
    _write(tmp_path, "common.conf.common", 'OVERLAY="a.dtbo";\nDTB="common.dtb";\n')
    _write(
        tmp_path,
        "top.conf",
        'source "${LDK_DIR}/common.conf.common";\n'
        'OVERLAY+=",b.dtbo";\nDTB="top.dtb";\nTBC="${DTB}";\nRAW=\'${DTB}\';\n'
        'LAYOUT="plain.xml";\n'
        'if [[ "${ROOTFS_AB}" == 1 && "${ROOTFS_ENC}" == "" ]]; then\n\tLAYOUT="ab.xml";\n'
        'elif [[ "${ROOTFS_ENC}" == 1 ]]; then\n\tLAYOUT="enc.xml";\nfi;\n'
        'update_flash_args()\n{\n\tDTB="hook.dtb";\n}\n',
    )
    names = ["OVERLAY", "DTB", "TBC", "RAW", "LAYOUT"]
    args = {"board_id": "", "board_sku": "", "fab": "", "chip_sku": "", "variables": names}
    bash = evaluate_conf(tmp_path, "top", hooks=False, **args)  # type: ignore[arg-type]
    assert bash == {
        "OVERLAY": "a.dtbo,b.dtbo",
        "DTB": "top.dtb",
        "TBC": "top.dtb",
        "RAW": "${DTB}",
        "LAYOUT": "plain.xml",
    }
    assert variable_assignments(tmp_path, "top")["LAYOUT"][-1].value == "enc.xml"
    ab = evaluate_conf(tmp_path, "top", rootfs_ab=True, **args)  # type: ignore[arg-type]
    assert (ab["LAYOUT"], ab["DTB"]) == ("ab.xml", "hook.dtb")
    os.environ["ROOTFS_ENC"] = "1"  # the caller's environment never leaks in
    try:
        leaked = evaluate_conf(tmp_path, "top", **args)  # type: ignore[arg-type]
    finally:
        del os.environ["ROOTFS_ENC"]
    assert leaked["LAYOUT"] == "plain.xml"


def test_one_line_functions_end_where_they_end(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "one.conf",
        'helper() { echo "inside"; }\nY="outside";\nother()\n{\n\tZ="${Y}";\n}\nW=1;\n',
    )
    found = variable_assignments(tmp_path, "one")
    assert hook_functions(tmp_path, "one") == {
        "helper": tmp_path / "one.conf",
        "other": tmp_path / "one.conf",
    }
    assert found["Y"][0].function is None
    assert found["Z"][0].function == "other"
    assert found["W"][0].function is None
