"""The offline plan against real NVIDIA trees: every conf value it consumes is what bash gives.

For each tree in ``PYTEST_JETSON_REAL_LFT`` and each shipped profile whose flash conf the tree
has, the test runs ``python -m pytest_jetson plan --profile P --lft TREE --json`` (per boot
device the profile allows), then sources the real conf with the small bash snippet below,
written here independently of the product's evaluator, with the environment flash.sh would
have, and compares every value the plan shows. Public trees strip files: a file the plan needs
that the tree lacks, or holds only as a Git LFS pointer, is reported "absent in this tree".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pytest_jetson.profile import load_profile

ENV = "PYTEST_JETSON_REAL_LFT"
PROFILES = Path(__file__).parents[2] / "profiles"

# Sources the conf as flash.sh does: cd to the tree, LDK_DIR set, ROOTFS_AB only when asked,
# the identity flash.sh dispatches on, then the hooks the conf defines with flash.sh's
# arguments. Prints NAME=VALUE for each variable that is set.
SNIPPET = r"""
unset ROOTFS_AB ROOTFS_ENC
cd "$1" || exit 9
LDK_DIR="$(pwd)"; export LDK_DIR
board_id="$2"; board_FAB="$3"; board_sku="$4"; board_revision="$5"; chip_SKU="$6"
fuselevel=fuselevel_production; rootfs_ab=0; disk_enc_enable=0; bup_blob=0
if [ "$7" = 1 ]; then export ROOTFS_AB=1; fi
conf="$8"; shift 8
{
  source "${LDK_DIR}/${conf}"
  if declare -F process_board_version >/dev/null; then
    process_board_version "$board_id" "$board_FAB" "$board_sku" "$board_revision" "" \
      "${LDK_DIR}/bootloader/cvm.bin"
  fi
  if declare -F process_chip_sku_version >/dev/null; then
    process_chip_sku_version "$chip_SKU" "" "" "" "$fuselevel" "$board_FAB"
  fi
  if declare -F update_flash_args >/dev/null; then update_flash_args "" ""; fi
  if declare -F update_emmc_cfg_for_bup >/dev/null; then update_emmc_cfg_for_bup ""; fi
} >&2
for name in "$@"; do
  if [ -n "${!name+x}" ]; then printf '%s=%s\n' "$name" "${!name}"; fi
done
"""


@dataclass(frozen=True)
class Case:
    """One plan to check: a tree, a profile and a boot device."""

    tree: Path
    profile: Path
    boot_device: str | None
    rootfs_ab: bool = False

    @property
    def id(self) -> str:
        ab = ":ab" if self.rootfs_ab else ""
        return f"{self.tree.parent.name or self.tree}:{self.profile.stem}:{self.boot_device}{ab}"


def real_trees() -> list[Path]:
    """The trees the variable names (empty when unset)."""
    value = os.environ.get(ENV, "")
    return [Path(part) for part in value.split(":") if part.strip()]


def _boot_devices(profile: Path) -> list[str | None]:
    if load_profile(profile).boot_device:
        return [None]
    return ["internal", "nvme0n1p1"]  # a profile that leaves it to the bench: both flows


def _flash_conf(profile: Path) -> str:
    return load_profile(profile).flash_config


def cases() -> list[Any]:
    trees = real_trees()
    if not trees:
        return [
            pytest.param(
                None,
                marks=pytest.mark.skip(
                    reason=f"set {ENV}=/path/to/Linux_for_Tegra[:...] to check the plan "
                    "against real NVIDIA trees (e.g. a checkout of johnnynunez/Linux_for_Tegra)"
                ),
                id="no-real-tree",
            )
        ]
    found = []
    for tree in trees:
        for profile in sorted(PROFILES.glob("*.yaml")):
            if not (tree / _flash_conf(profile)).exists():
                continue  # the tree has no such board
            for device in _boot_devices(profile):
                for ab in (False, True):
                    case = Case(tree, profile, device, ab)
                    found.append(pytest.param(case, id=case.id))
    return found


def _plan(case: Case, tmp_path: Path) -> dict[str, Any]:
    profile = case.profile
    if case.rootfs_ab:  # the same profile asking for A/B rootfs
        profile = tmp_path / case.profile.name
        profile.write_text(case.profile.read_text() + "rootfs_ab: true\n")
    argv = [sys.executable, "-m", "pytest_jetson", "plan", "--json"]
    argv += ["--profile", str(profile), "--lft", str(case.tree)]
    if case.boot_device:
        argv += ["--boot-device", case.boot_device]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode in (0, 1), done.stderr
    assert done.stdout.strip(), f"the plan refused without a plan: {done.stderr}"
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def _identity(plan: dict[str, Any]) -> tuple[str, str, str, str]:
    """What flash.sh dispatches on: with FAB given, the given words only; else the EEPROM."""
    env, eeprom = plan["tool_env"], plan["eeprom"]
    if env.get("FAB"):
        return env.get("BOARDID", ""), env["FAB"], env.get("BOARDSKU", ""), env.get("BOARDREV", "")
    return eeprom["board_id"], eeprom["board_FAB"], eeprom["board_sku"], eeprom["board_REV"]


def _bash(case: Case, plan: dict[str, Any], names: list[str]) -> dict[str, str]:
    board_id, fab, sku, rev = _identity(plan)
    ab = "1" if plan["rootfs_ab"] else "0"
    conf = _flash_conf(case.profile)
    argv = ["bash", "-c", SNIPPET, "bash", str(case.tree), board_id, fab, sku, rev]
    argv += [plan["eeprom"]["chip_SKU"], ab, conf, *names]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)


def _lfs_pointer(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(40).startswith(b"version https://git-lfs")


@pytest.mark.parametrize("case", cases())
def test_the_plan_consumes_what_bash_gives(case: Case, absent: list[str], tmp_path: Path) -> None:
    data = _plan(case, tmp_path)
    plan = data["plan"]
    names = [*plan["conf"], "EXTERNAL_DEVICE", "EXTERNAL_PT_LAYOUT", "INITRD"]
    bash = _bash(case, plan, sorted(set(names)))
    for name, value in plan["conf"].items():
        assert bash.get(name) == value, (name, value, bash.get(name))
    # what the plan left out, bash left unset too
    for name in ("EXTERNAL_DEVICE", "EXTERNAL_PT_LAYOUT"):
        assert (name in plan["conf"]) == (name in bash), name
    assert plan["rootfs_ab"] == case.rootfs_ab
    assert ("ROOTFS_AB" in plan["tool_env"]) == case.rootfs_ab
    argv = plan["argv"]
    if "-c" in argv and bash.get("EXTERNAL_PT_LAYOUT"):
        assert argv[argv.index("-c") + 1] == bash["EXTERNAL_PT_LAYOUT"]
    for missing in data["missing"]:
        absent.append(
            f"{case.id}: {missing['variable']} names {missing['path']}: absent in this tree"
        )
    for name in ("DTB_FILE", "INITRD"):
        value = bash.get(name)
        path = case.tree / "kernel" / "dtb" / value if name == "DTB_FILE" and value else None
        if name == "INITRD" and value:
            path = case.tree / value
        if path is not None and path.is_file() and _lfs_pointer(path):
            absent.append(f"{case.id}: {name} names {path}: a Git LFS pointer, absent in this tree")
    print(f"{case.id}: {' '.join(plan['argv'])} [{len(plan['conf'])} conf values agree]")
