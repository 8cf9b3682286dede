"""``pytest --dut=<sim> --jetson-flash`` end to end: the step items, JUnit, the summary, the plan
gate (issue 5)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import summary

T234_STEPS = (
    "preflight-bsp_image",
    "preflight-rcm",
    "preflight-eeprom",
    "preflight-default_user",
    "plan",
    "recovery",
    "flash",
    "post-flash-reset",
    "mb1",
    "mb2",
    "uefi",
    "kernel",
    "login",
    "release",
)
DIGEST = re.compile(r"Flash plan for DUT \S+ \(digest ([0-9a-f]{16})\)")


def _digest_of(run: Any) -> str:
    found: set[str] = set(DIGEST.findall(run.text))
    assert len(found) == 1, run.text
    return found.pop()


def _check_booted(run: Any, *, passed: int, skipped: int) -> dict[str, Any]:
    """The common proof of a good flash: every step item, JUnit properties, the summary."""
    run.result.assert_outcomes(passed=passed, skipped=skipped)
    assert "Traceback" not in run.text
    cases = run.cases()
    for index, step in enumerate(T234_STEPS, 1):
        assert f"{index:02d}-{step}" in cases, sorted(cases)
    assert run.outcome_of("test_on_the_board") == "passed"
    summary = run.summary
    assert summary["outcome"] == "booted"
    props = run.properties("flash")
    assert props["dut"] == run.dut
    assert props["plan_digest"] == summary["plan_digest"]
    assert props["release"] == summary["plan"]["version"]
    assert re.fullmatch(r"R3\d\.\d+\.\d+", props["release"])
    eeprom = summary["plan"]["eeprom"]
    assert sorted(props["eeprom"].split()) == sorted(f"{k}={v}" for k, v in eeprom.items())
    assert eeprom["board_sku"]
    flash = next(s for s in summary["steps"] if s["step"] == "flash")
    assert flash["returncode"] == 0 and flash["outcome"] == "flashed"
    plan_argv = summary["plan"]["argv"]
    if summary["image_build"]:  # initrd: built once (--no-flash), then --flash-only on the port
        at = plan_argv.index("--usb-instance")
        port, words = plan_argv[at + 1], [*plan_argv[:at], *plan_argv[at + 2 :]]
        assert flash["command"] == [words[0], "--flash-only", "--usb-instance", port, *words[1:]]
        build = next(s for s in summary["steps"] if s["step"] == "build")
        assert build["command"][4:] == [words[0], "--no-flash", *words[1:]]
        assert build["returncode"] == 0 and summary["image_build"]["role"] == "built"
    else:
        assert flash["command"] == plan_argv
    assert run.log("flash.log").count("$ cd ") == 1
    timeline = summary["boot_timeline"]
    assert list(timeline) == ["kernel", "login", "mb1", "mb2", "uefi"]  # sorted JSON keys
    ordered = [timeline[s] for s in ("mb1", "mb2", "uefi", "kernel", "login")]
    assert ordered == sorted(ordered) and ordered[0] >= 0, timeline
    return dict(summary)


def test_orin_flashes_with_a_pinned_digest_from_plan_only(
    flow_run: Callable[..., Any],
) -> None:
    plan_only = flow_run("sim-orin", "--jetson-plan-only", accept=None)
    plan_only.result.assert_outcomes(passed=5, deselected=1)
    assert [c for c in plan_only.cases()] == [
        f"{i:02d}-{s}" for i, s in enumerate(T234_STEPS[:5], 1)
    ]
    assert "--jetson-plan-only: plan printed, stopping" in plan_only.text
    assert plan_only.result.ret == 0  # a clean success a CI step can read the digest from
    assert plan_only.summary["outcome"] == "planned"
    assert plan_only.summary["plan_digest"] == _digest_of(plan_only)
    first = _digest_of(plan_only)
    assert "flash.log" not in [p.name for p in (plan_only.artifacts / "sim-orin").iterdir()]

    run = flow_run("sim-orin", accept=f"--jetson-accept-plan={first}")
    summary = _check_booted(run, passed=14, skipped=1)
    assert _digest_of(run) == first  # a fresh bench, the same image: the same plan
    assert summary["plan_digest"] == first
    assert "not needed on t234" in run.skip_reason("post-flash-reset")
    assert summary["plan"]["argv"] == [
        "./flash.sh",
        "--usb-instance",
        "1-4",
        "jetson-agx-orin-devkit",
        "internal",
    ]


def test_orin_nano_flashes_nvme_through_the_initrd_flow(flow_run: Callable[..., Any]) -> None:
    run = flow_run("sim-orin-nano")
    summary = _check_booted(run, passed=14, skipped=1)
    argv = summary["plan"]["argv"]
    assert argv[0] == "./tools/kernel_flash/l4t_initrd_flash.sh"
    assert argv[argv.index("--external-device") + 1] == "nvme0n1p1"
    assert argv[argv.index("-c") + 1] == "tools/kernel_flash/flash_l4t_external.xml"
    assert argv[argv.index("--usb-instance") + 1] == "1-5"  # the built-in nano's own port
    assert argv[-2:] == ["jetson-orin-nano-devkit", "internal"]
    assert summary["plan"]["flow_tool"] == "l4t_initrd_flash.sh"
    assert "Step 1: Generate flash packages" in run.log("build.log")
    assert "Step 3: Start the flashing process" in run.log("flash.log")


def test_an_empty_eeprom_is_flashed_with_the_profile_values(flow_run: Callable[..., Any]) -> None:
    """AGX Orin's conf dispatches on the module SKU. With the EEPROM's SKU and FAB empty,
    flash.sh is given all four identity variables (with FAB set it reads no EEPROM, so the
    others must come along): the EEPROM's id and REV, the profile's SKU and FAB."""
    run = flow_run("sim-orin", "--jetson-sim-fault=eeprom_empty")
    run.result.assert_outcomes(passed=14, skipped=1)
    summary = run.summary
    assert summary["outcome"] == "booted"
    assert summary["plan"]["eeprom"] == {
        "board_id": "3701",
        "board_sku": "",
        "board_FAB": "",
        "board_REV": "J.0",
        "chip_SKU": "00:00:00:D0",
    }
    words = ["BOARDID=3701", "BOARDSKU=0000", "FAB=500", "BOARDREV=J.0"]
    assert summary["plan"]["tool_env"] == dict(w.split("=") for w in words)
    assert f"Command:      {' '.join(words)} ./flash.sh --usb-instance 1-4" in run.text
    flash = next(s for s in summary["steps"] if s["step"] == "flash")
    assert flash["command"][:5] == [*words, "./flash.sh"]
    assert f"{' '.join(words)} ./flash.sh" in run.log("flash.log")
    assert "Unrecognized module SKU" not in run.log("flash.log")
    # nvautoflash has no row for an empty SKU: it printed the fields, then exited 10
    eeprom_log = run.log("eeprom.log")
    assert "--print_boardid --usb-instance 1-4" in eeprom_log
    assert "Error: Target board not found." in eeprom_log
    assert "Board ID(3701) version(500) sku(0000) revision(J.0)" in run.log("flash.log")


def test_thor_flashes_then_resets_with_boardctl(flow_run: Callable[..., Any]) -> None:
    run = flow_run("sim-thor")
    summary = _check_booted(run, passed=15, skipped=0)
    reset = next(s for s in summary["steps"] if s["step"] == "post-flash-reset")
    assert reset["command"][-5:-2] == ["-t", "thor-jetson-module", "-s"]
    assert reset["command"][-2].startswith("TOPO") and reset["command"][-1] == "reset"
    assert reset["returncode"] == 0
    assert f"-t thor-jetson-module -s {reset['command'][-2]} reset" in run.log("boardctl.log")
    assert summary["plan"]["argv"][-2:] == ["jetson-agx-thor-devkit", "external"]
    # the flow tool ran holding its tree's lock, free at once here
    assert summary["tree_lock"]["tree"].endswith("/Linux_for_Tegra")
    assert summary["tree_lock"]["held_by"] is None and summary["tree_lock"]["waited_s"] < 5
    # The conf's EXTERNAL_PT_LAYOUT as bash gets it: the A/B and encryption branches are off.
    argv = summary["plan"]["argv"]
    assert argv[argv.index("-c") + 1] == "tools/kernel_flash/flash_l4t_t264_nvme.xml"
    assert summary["plan"]["conf"]["INITRD"] == "bootloader/l4t_initrd.img"
    assert "ROOTFS_AB" not in summary["plan"]["tool_env"]


def test_without_acceptance_the_plan_fails_and_everything_after_skips(
    flow_run: Callable[..., Any],
) -> None:
    run = flow_run("sim-orin", accept=None)
    run.result.assert_outcomes(passed=4, failed=1, skipped=10)
    failure = run.failure_text("plan")
    assert "flashing needs explicit acceptance of the plan" in failure
    digest = _digest_of(run)
    assert f"Accept this exact plan with --jetson-accept-plan={digest}" in failure
    assert "Command:      ./flash.sh --usb-instance 1-4 jetson-agx-orin-devkit internal" in failure
    for step in T234_STEPS[5:]:
        assert run.skip_reason(step).endswith("step 'plan' failed for DUT sim-orin")
    assert "failed at step 'plan': not running against a stale image" in run.skip_reason(
        "test_on_the_board"
    )
    assert "Traceback" not in run.text
    assert not (run.artifacts / "sim-orin" / "flash.log").exists()
    assert run.summary["outcome"] == "refused"


def test_a_wrong_digest_refuses_the_plan(flow_run: Callable[..., Any]) -> None:
    run = flow_run("sim-orin", accept="--jetson-accept-plan=0123456789abcdef")
    run.result.assert_outcomes(passed=4, failed=1, skipped=10)
    failure = run.failure_text("plan")
    digest = _digest_of(run)
    assert (
        f"the plan's digest is {digest}, but --jetson-accept-plan=0123456789abcdef was given"
        in failure
    )
    assert not (run.artifacts / "sim-orin" / "flash.log").exists()


def test_serial_unplug_and_a_slow_boot_are_survived(flow_run: Callable[..., Any]) -> None:
    run = flow_run("sim-orin", "--jetson-sim-fault=serial_unplug", "--jetson-sim-fault=slow_boot")
    _check_booted(run, passed=14, skipped=1)
    assert re.search(r"--- console lost at .* reopened after [\d.]+ s ---", run.log("console.log"))


AB_BENCH = """
duts:
  thor-ab: {profile: thor-ab, sim: {board: thor-agx}, default_user: ubuntu}
"""


def test_a_profile_asking_for_ab_gets_the_ab_layout_and_rootfs_ab(
    pytester: pytest.Pytester, flow_run: Callable[..., Any]
) -> None:
    """``rootfs_ab: true`` reaches the tool as ROOTFS_AB=1; the conf's A/B branch picks the
    layout, in the plan and its digests."""
    devkit = Path(__file__).parents[2] / "profiles" / "jetson-agx-thor-devkit.yaml"
    (pytester.path / "profiles").mkdir()
    (pytester.path / "profiles" / "thor-ab.yaml").write_text(
        devkit.read_text() + "rootfs_ab: true\n"
    )
    (pytester.path / "hil").mkdir()
    (pytester.path / "hil" / "bench.yaml").write_text(AB_BENCH)
    run = flow_run("thor-ab", "--jetson-plan-only")
    plan = run.summary["plan"]
    argv = plan["argv"]
    assert argv[argv.index("-c") + 1] == "tools/kernel_flash/flash_l4t_t264_nvme_rootfs_ab.xml"
    assert plan["tool_env"] == {"ROOTFS_AB": "1"} and plan["rootfs_ab"] is True
    assert "Command:      ROOTFS_AB=1 ./tools/kernel_flash/l4t_initrd_flash.sh" in run.text
    assert "Rootfs A/B:   yes (ROOTFS_AB=1)" in run.text


NVME_BENCH = """
duts:
  orin-nvme:
    sim: {board: orin-agx}
    boot_device: nvme0n1p1
    default_user: ubuntu
  orin-floppy:
    sim: {board: orin-agx}
    boot_device: floppy0
    default_user: ubuntu
"""


def test_a_simulated_entrys_boot_device_is_honoured_or_refused(
    pytester: pytest.Pytester, flow_run: Callable[..., Any]
) -> None:
    """``boot_device`` of a ``sim:`` inventory entry is not ignored: the simulated AGX Orin
    is built for NVMe and flashed with the initrd flow; a device it has not is refused."""
    (pytester.path / "hil").mkdir()
    (pytester.path / "hil" / "bench.yaml").write_text(NVME_BENCH)
    run = flow_run("orin-nvme,orin-floppy", "--jetson-plan-only")

    nvme = summary(run.artifacts, "orin-nvme")
    assert (nvme["outcome"], nvme["plan"]["boot_device"]) == ("planned", "nvme0n1p1"), nvme
    assert "./tools/kernel_flash/l4t_initrd_flash.sh" in nvme["plan"]["argv"]
    floppy = summary(run.artifacts, "orin-floppy")
    assert floppy["outcome"] == "failed" and floppy["message"].startswith("plan: "), floppy
    plan = next(s for s in floppy["steps"] if s["step"] == "plan")
    assert "floppy0" in plan["message"] and "nvme0n1p1" in plan["message"], plan
    assert run.result.ret == pytest.ExitCode.TESTS_FAILED
