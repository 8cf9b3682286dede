"""``--jetson-flash=auto``: a DUT kept across sessions is flashed once, then verified and not
flashed again, and flashed whenever anything it would need differs (no false skip)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from pytest_jetson.sim.boards import RELEASES
from pytest_jetson.sim.image import nv_tegra_release_text
from pytest_jetson.sim.state import StateStore
from tests.helpers import HIL_TEST, summary, write_bench

KEPT = """
lock_dir: locks
duts:
  kept:
    sim: {board: orin-agx, state: kept-state}
    default_user: ubuntu
"""
FAST_CLOCK = "--jetson-sim-speed=40"
"""Six sessions in one story: a faster simulated clock than the other pytester runs."""
DTB = "tegra234-p3737-0000+p3701-0000-nv.dtb"
BCT = "tegra234-mb2-bct-misc-p3701-0000.dts"


def run_auto(pytester: pytest.Pytester) -> tuple[pytest.RunResult, dict[str, Any]]:
    artifacts = pytester.path / "art"
    result = pytester.runpytest(
        "--dut=kept",
        "--jetson-flash=auto",
        FAST_CLOCK,
        f"--jetson-artifacts={artifacts}",
        "-rs",
        "--jetson-accept-plan",
        "test_hil.py",
    )
    return result, summary(artifacts, "kept")


def check_flashed(result: pytest.RunResult, data: dict[str, Any], reason: str) -> None:
    result.assert_outcomes(passed=14, skipped=1)  # the steps (reset not needed on t234), the test
    assert data["reflash"]["skip"] is False
    assert data["reflash"]["reason"] == reason
    assert data["outcome"] == "booted"
    assert any(s["step"] == "flash" and s.get("outcome") == "flashed" for s in data["steps"])


def check_skipped(result: pytest.RunResult, data: dict[str, Any]) -> None:
    # flash and post-flash-reset skipped; preflights, plan, recovery, boot stages, release and
    # the test passed
    result.assert_outcomes(passed=13, skipped=2)
    assert data["reflash"]["skip"] is True
    assert data["reflash"]["message"].startswith(f"verified: R36.4.3, image {data['image_digest']}")
    assert data["outcome"] == "verified"
    assert set(data["boot_timeline"]) == {"mb1", "mb2", "uefi", "kernel", "login"}
    assert "flashed" not in [s.get("outcome") for s in data["steps"]]
    result.stdout.fnmatch_lines([f"*verified: R36.4.3, image {data['image_digest']}*"])


@dataclasses.dataclass(frozen=True)
class Kept:
    """The kept DUT of one test: its tree, its simulated state and the host's lock folder."""

    lft: Path
    store: StateStore
    locks: Path


def first_flash(pytester: pytest.Pytester) -> tuple[Kept, dict[str, Any]]:
    """The first ``--jetson-flash=auto`` session: no record yet, so it flashes and records."""
    bench = write_bench(pytester, KEPT)
    pytester.makepyfile(test_hil=HIL_TEST)
    state = bench.parent / "kept-state"
    kept = Kept(
        state / "images" / "kept" / "Linux_for_Tegra",
        StateStore(state / "dut"),
        pytester.path / "hil" / "locks",
    )
    result, data = run_auto(pytester)
    check_flashed(result, data, "no-record")
    record = json.loads((kept.locks / "kept.record.json").read_text())
    assert record["image_digest"] == data["image_digest"]
    assert not (kept.locks / "kept.provisioning").exists()
    return kept, data


def test_flashed_once_then_verified_and_reflashed_when_anything_differs(
    pytester: pytest.Pytester,
) -> None:
    kept, data = first_flash(pytester)
    lft, store, locks = kept.lft, kept.store, kept.locks
    result, data = run_auto(pytester)
    check_skipped(result, data)

    # A DTB changed in the tree: the image digest differs, the board is flashed.
    dtb = lft / "kernel" / "dtb" / DTB
    dtb.write_bytes(dtb.read_bytes() + b"\0changed")
    result, data = run_auto(pytester)
    check_flashed(result, data, "image-changed")
    assert store.read().flashed is not None
    result, data = run_auto(pytester)
    check_skipped(result, data)  # the board now runs the new DTB

    # An interrupted flash left its marker.
    (locks / "kept.provisioning").write_text("0123456789abcdef 0\n")
    result, data = run_auto(pytester)
    check_flashed(result, data, "marker")

    # Reflashed by hand outside the product: the same release, another DTB on the board.
    def by_hand(state: Any) -> Any:
        return dataclasses.replace(
            state, flashed=dataclasses.replace(state.flashed, dtb_sha256="0" * 64)
        )

    store.update(by_hand)
    result, data = run_auto(pytester)
    check_flashed(result, data, "identity-changed")
    assert "dtb_sha256" in data["reflash"]["message"]


def test_another_release_a_bct_or_a_kernel_is_flashed(pytester: pytest.Pytester) -> None:
    kept, data = first_flash(pytester)
    lft, store = kept.lft, kept.store

    # Another release put on the board by hand (R36.2, the same board and layout).
    def other_release(state: Any) -> Any:
        text = nv_tegra_release_text(RELEASES["R36.2.0"])
        assert text != state.flashed.nv_tegra_release
        return dataclasses.replace(
            state,
            flashed=dataclasses.replace(state.flashed, release="R36.2.0", nv_tegra_release=text),
        )

    store.update(other_release)
    result, data = run_auto(pytester)
    check_flashed(result, data, "identity-changed")
    assert "release" in data["reflash"]["message"]

    # A BCT source the conf chain names changed, then the kernel Image (mirrored into the
    # rootfs, as the bsp_image preflight wants): each changes the image digest, though the
    # release string does not; each is flashed.
    kernel = (lft / "kernel" / "Image", lft / "rootfs" / "boot" / "Image")
    for changed in ((next((lft / "bootloader").rglob(BCT)),), kernel):
        before = data["image_digest"]
        for path in changed:
            path.write_bytes(path.read_bytes() + b"\n/* changed */\n")
        result, data = run_auto(pytester)
        check_flashed(result, data, "image-changed")
        assert data["image_digest"] != before, changed[0].name
    flashed = store.read().flashed
    assert flashed is not None
    kernel_sha = hashlib.sha256((lft / "kernel" / "Image").read_bytes()).hexdigest()
    assert flashed.kernel_sha256 == kernel_sha, "the board runs the changed kernel"
