"""The local view of a bench host's Linux_for_Tegra tree (built here with the local transport)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_jetson.drivers.defaultuser import staged_user
from pytest_jetson.flash.procedure import lft_release
from pytest_jetson.host.transport import LocalTransport
from pytest_jetson.preflight.checks import check_bsp_image
from pytest_jetson.profile import Profile, load_profile
from pytest_jetson.remote.view import TreeView, fetch_view
from pytest_jetson.sim.host import SimDut, SimHost


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> SimDut:
    with SimHost(tmp_path_factory.mktemp("view-sim")) as host:
        yield host.add_dut("orin-03", "orin-agx")


def view_of(lft: Path, dest: Path) -> TreeView:
    return fetch_view(LocalTransport(), lft, dest)


def test_host_side_readers_see_what_the_bench_tree_holds(sim: SimDut, tmp_path: Path) -> None:
    view = view_of(sim.lft, tmp_path / "view")
    profile: Profile = load_profile(sim.profile_path)
    conf = profile.flash_config
    from pytest_jetson.flash.resolve import PLAN_VARIABLES
    from pytest_jetson.lft.conf import evaluate_conf

    def values(lft: Path) -> dict[str, str]:
        return evaluate_conf(
            lft,
            conf,
            board_id="3701",
            board_sku="0000",
            fab="500",
            chip_sku="00:00:00:D0",
            variables=[*PLAN_VARIABLES, "DTB_FILE", "OVERLAY_DTB_FILE"],
        )

    assert values(view.local) == values(sim.lft)
    assert lft_release(view.local) == lft_release(sim.lft) == sim.release
    outcome = check_bsp_image(profile, flow_tool="l4t_initrd_flash.sh", lft=view.local)
    assert outcome.passed, outcome
    assert view.outward(outcome.message) == f"localhost:{sim.lft} is ready to flash"
    assert staged_user(view.local / "rootfs") == staged_user(sim.lft / "rootfs")


def test_image_drift_and_a_staged_user_on_the_bench_show_in_the_view(
    sim: SimDut, tmp_path: Path
) -> None:
    import shutil

    tree = tmp_path / "copy" / "Linux_for_Tegra"
    shutil.copytree(sim.lft, tree, symlinks=True)
    (tree / "rootfs" / "boot" / "Image").write_bytes(b"hand-edited")
    (tree / "rootfs" / "home" / "qa").mkdir(parents=True)
    view = view_of(tree, tmp_path / "view")
    profile = load_profile(sim.profile_path)
    outcome = check_bsp_image(profile, flow_tool="flash.sh", lft=view.local)
    assert outcome.status == "defect" and "kernel/Image and rootfs/boot/Image differ" in (
        outcome.message
    )
    assert staged_user(view.local / "rootfs") == "home/qa"


def test_a_missing_tree_gives_an_empty_view(tmp_path: Path, sim: SimDut) -> None:
    view = view_of(tmp_path / "nowhere" / "Linux_for_Tegra", tmp_path / "view")
    outcome = check_bsp_image(load_profile(sim.profile_path), flow_tool=None, lft=view.local)
    assert outcome.status == "defect" and "Linux_for_Tegra not found" in view.outward(
        outcome.message
    )
