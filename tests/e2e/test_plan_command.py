"""``python -m pytest_jetson plan``: the plan without a board, as a release engineer runs it.

Run as a real process (``sys.executable -m pytest_jetson plan``) against simulated trees: exit 0
when the plan resolves, 1 when it refuses (naming the defect), 2 on a usage error; with
``--dut`` the plan digest equals the one ``--jetson-flash --jetson-plan-only`` prints.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_jetson.sim.host import SimHost

PROFILES = Path(__file__).parents[2] / "profiles"
EEPROM = "board_id=3701,board_sku=0000,board_FAB=500,board_REV=J.0,chip_SKU=00:00:00:D0"


def plan(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_jetson", "plan", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
    )


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    with SimHost(tmp_path_factory.mktemp("offline")) as host:
        found = {
            "orin-agx": host.add_dut("agx", "orin-agx").lft,
            "orin-nano": host.add_dut("nano", "orin-nano").lft,
            "thor-agx": host.add_dut("thor", "thor-agx", release="R38.4.0").lft,
        }
        yield found


@pytest.mark.parametrize(
    ("profile", "tree", "extra", "command"),
    [
        pytest.param(
            "jetson-agx-orin-devkit.yaml",
            "orin-agx",
            (),
            "./flash.sh jetson-agx-orin-devkit internal",
            id="r36-agx-emmc",
        ),
        pytest.param(
            "jetson-orin-nano-devkit.yaml",
            "orin-nano",
            ("--boot-device", "nvme0n1p1"),
            "./tools/kernel_flash/l4t_initrd_flash.sh --external-device nvme0n1p1 "
            "-c tools/kernel_flash/flash_l4t_external.xml "
            '-p "-c bootloader/generic/cfg/flash_t234_qspi.xml" --showlogs --network usb0 '
            "jetson-orin-nano-devkit internal",
            id="r36-nano-nvme",
        ),
        pytest.param(
            "jetson-agx-thor-devkit.yaml",
            "thor-agx",
            (),
            "./tools/kernel_flash/l4t_initrd_flash.sh --external-device nvme0n1p1 "
            "-c tools/kernel_flash/flash_l4t_t264_nvme.xml --showlogs --network usb0 "
            "jetson-agx-thor-devkit external",
            id="r38-thor-nvme",
        ),
    ],
)
def test_a_profile_plans_nvidias_documented_command(
    trees: dict[str, Path], profile: str, tree: str, extra: tuple[str, ...], command: str
) -> None:
    result = plan("--profile", str(PROFILES / profile), "--lft", str(trees[tree]), *extra)
    assert result.returncode == 0, result.stderr
    assert f"  Command:      {command}\n" in result.stdout
    assert "no EEPROM read" in result.stdout  # says the values are the profile's
    assert re.search(r"\(image digest [0-9a-f]{16}\)", result.stdout)
    assert "RCM entry" not in result.stdout  # no bench: no bench wiring, no plan digest


def test_exit_codes_refusal_and_usage(trees: dict[str, Path], tmp_path: Path) -> None:
    agx = str(PROFILES / "jetson-agx-orin-devkit.yaml")
    lft = trees["orin-agx"]
    # an EEPROM with empty SKU and FAB and a profile without a revision: FAB has no source
    bare = tmp_path / "bare.yaml"
    bare.write_text(
        (PROFILES / "jetson-agx-orin-devkit.yaml").read_text().replace(', revision: "500"', "")
    )
    refused = plan("--profile", str(bare), "--lft", str(lft), "--eeprom", "board_id=3701")
    assert refused.returncode == 1
    assert "FAB has no source" in refused.stderr and "Traceback" not in refused.stderr
    usage = plan("--profile", agx, "--lft", str(lft), "--eeprom", "sku=0000")
    assert usage.returncode == 2 and "board_sku" in usage.stderr
    assert plan("--profile", agx, "--dut", "x").returncode == 2  # one of the two
    image = lft / "kernel" / "Image"
    saved = image.read_bytes()
    image.unlink()
    try:
        missing = plan("--profile", agx, "--lft", str(lft))
    finally:
        image.write_bytes(saved)
    assert missing.returncode == 1
    assert "Refused: the flow needs files the image lacks: kernel_image names kernel/Image" in (
        missing.stdout
    )


def test_json_and_the_empty_fab_identity(trees: dict[str, Path]) -> None:
    """An EEPROM with an empty FAB: all four identity variables, in the plan and its digest."""
    agx = str(PROFILES / "jetson-agx-orin-devkit.yaml")
    lft = str(trees["orin-agx"])
    full = json.loads(plan("--profile", agx, "--lft", lft, "--eeprom", EEPROM, "--json").stdout)
    empty_fab = EEPROM.replace("board_FAB=500", "board_FAB=")
    result = plan("--profile", agx, "--lft", lft, "--eeprom", empty_fab, "--json")
    data = json.loads(result.stdout)
    assert data["plan"]["tool_env"] == {
        "BOARDID": "3701",
        "BOARDSKU": "0000",
        "FAB": "500",
        "BOARDREV": "J.0",
    }
    assert full["plan"]["tool_env"] == {} and data["image_digest"] != full["image_digest"]
    assert data["plan"]["conf"]["EMMC_CFG"] == "flash_t234_qspi_sdmmc.xml"
    assert "digest" not in data  # no bench: only the image digest


def test_a_duts_offline_plan_digest_is_the_flows(pytester: pytest.Pytester) -> None:
    offline = plan("--dut", "sim-orin", "--eeprom", EEPROM, cwd=pytester.path)
    assert offline.returncode == 0, offline.stderr
    found = re.search(r"Flash plan for DUT sim-orin \(digest ([0-9a-f]{16})\)", offline.stdout)
    assert found, offline.stdout
    assert "(given with --eeprom)" in offline.stdout
    flow = pytester.runpytest(
        "--dut=sim-orin", "--jetson-flash", "--jetson-plan-only", "--jetson-sim-speed=8"
    )
    assert f"Flash plan for DUT sim-orin (digest {found.group(1)})" in flow.stdout.str()
    image = re.search(r"Image digest: ([0-9a-f]{16})", offline.stdout)
    assert image and f"Image digest: {image.group(1)}" in flow.stdout.str()
