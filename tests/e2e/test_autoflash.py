"""``--jetson-flash=auto``: a DUT kept across sessions is flashed once, then verified and not
flashed again, and flashed whenever anything it would need differs (no false skip)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

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


def test_flashed_once_then_verified_and_reflashed_when_anything_differs(
    pytester: pytest.Pytester,
) -> None:
    bench = write_bench(pytester, KEPT)
    pytester.makepyfile(test_hil=HIL_TEST)
    kept = bench.parent / "kept-state"
    lft = kept / "images" / "kept" / "Linux_for_Tegra"
    store = StateStore(kept / "dut")
    locks = pytester.path / "hil" / "locks"

    result, data = run_auto(pytester)
    check_flashed(result, data, "no-record")
    record = json.loads((locks / "kept.record.json").read_text())
    assert record["image_digest"] == data["image_digest"]
    assert not (locks / "kept.provisioning").exists()

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
