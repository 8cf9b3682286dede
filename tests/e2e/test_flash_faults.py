"""Every flash and boot fault of the simulator fails the step it belongs to, with a domain
message (no Python traceback), and leaves no process behind (issue 5)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_jetson.__main__ import main
from tests.helpers import SPEED, processes_under, wait_for


def _assert_domain_failure(
    run: Any, step: str, *expected: str, failure_class: str = "product"
) -> str:
    """``step`` is the one failed item; the later steps and the ordinary test skip naming it.

    A product failure is a pytest failure; an infrastructure one (the bench) is an error.
    """
    assert run.outcome_of(step) == "failed"
    failure: str = run.failure_text(step)
    for text in expected:
        assert text in failure, failure
    assert "Traceback" not in run.text and 'File "' not in failure, failure
    assert failure.lstrip().startswith(f"jetson {step} [{run.dut}]:"), failure
    steps = [name.split("-", 1)[1] for name in run.cases() if name[:2].isdigit()]
    for later in steps[steps.index(step) + 1 :]:
        assert run.skip_reason(later) == f"step '{step}' failed for DUT {run.dut}", later
    assert f"failed at step '{step}'" in run.skip_reason("test_on_the_board")
    outcomes = run.result.parseoutcomes()
    if failure_class == "infra":
        assert outcomes.get("error", outcomes.get("errors")) == 1 and "failed" not in outcomes
    else:
        assert outcomes.get("failed") == 1 and "error" not in outcomes and "errors" not in outcomes
    assert f'name="failure_class" value="{failure_class}"' in run.junit.read_text()
    assert run.failure_node(step).tag == ("error" if failure_class == "infra" else "failure")
    assert outcomes.get("passed", 0) >= steps.index(step) - 1  # everything before it went well
    return failure


def test_flash_fail_aborts_with_the_failure_line_and_no_retry(
    flow_run: Callable[..., Any],
) -> None:
    run = flow_run("sim-orin", "--jetson-sim-fault=flash_fail")
    failure = _assert_domain_failure(
        run, "flash", "flash failed: ", "(flash.sh exited 1; not retried)", "--- full log: "
    )
    assert "ERROR: might be timeout in USB write." in failure
    assert run.log("flash.log").count("./flash.sh --usb-instance") == 1  # ran once
    summary = run.summary
    assert summary["outcome"] == "failed"
    flash = [s for s in summary["steps"] if s["step"] == "flash"]
    assert len(flash) == 1 and flash[0]["returncode"] == 1


def test_usb_drop_mid_flash_fails_the_flash_naming_usb(flow_run: Callable[..., Any]) -> None:
    run = flow_run("sim-orin-nano", "--jetson-sim-fault=usb_drop_mid_flash")
    failure = _assert_domain_failure(
        run, "flash", "(l4t_initrd_flash.sh exited 1; not retried)", failure_class="infra"
    )
    assert "USB communication failed" in failure
    assert run.summary["outcome"] == "failed"


def test_flash_hang_is_killed_at_its_deadline(flow_run: Callable[..., Any]) -> None:
    run = flow_run("sim-orin", "--jetson-sim-fault=flash_hang", "--jetson-deadline=flash=1")
    failure = _assert_domain_failure(
        run, "flash", "flash.sh to finish flashing", "1 s", failure_class="infra"
    )
    assert "full log" in failure or str(run.artifacts) in failure
    assert run.summary["outcome"] == "timeout"
    assert processes_under(run.sim_root()) == []


def test_kernel_panic_fails_the_kernel_item_naming_the_stage(
    flow_run: Callable[..., Any], capsys: pytest.CaptureFixture[str]
) -> None:
    run = flow_run("sim-orin", "--jetson-sim-fault=kernel_panic")
    failure = _assert_domain_failure(
        run, "kernel", "boot failed in stage 'kernel'", "Kernel panic - not syncing"
    )
    assert "console.log" in failure
    assert run.summary["boot_timeline"].keys() == {"mb1", "mb2", "uefi", "kernel"}
    kernel = next(s for s in run.summary["steps"] if s["step"] == "kernel")  # failed stages too
    assert kernel["outcome"] == "failed" and "Kernel panic" in kernel["message"], kernel
    console_log = str(run.artifacts / run.dut / "console.log")
    assert main(["bootlog", console_log, "--chip", "t234", "--user-staged"]) == 1
    assert "failed in stage 'kernel' (waiting for 'login'): kernel_panic" in capsys.readouterr().out


def test_tcu_garble_loses_banners_and_still_boots_to_login(
    flow_run: Callable[..., Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """The combined UART lost the MB2 and UEFI banners: those items pass, saying so in JUnit
    (never a skip, so --jetson-strict holds), and the boot is decided by the login prompt."""
    run = flow_run("sim-orin", "--jetson-sim-fault=tcu_garble", "--jetson-strict")
    run.result.assert_outcomes(passed=14, skipped=1)
    for stage in ("mb2", "uefi"):
        assert run.outcome_of(stage) == "passed"
        assert run.properties(stage)["not_observed"] == "marker not seen; kernel was"
    assert "not_observed" not in run.properties("kernel")
    summary = run.summary
    assert summary["outcome"] == "booted"
    timeline = summary["boot_timeline"]
    assert timeline["mb2"] == timeline["uefi"] == "not_observed"
    assert 0 <= timeline["mb1"] <= timeline["kernel"] <= timeline["login"]
    uefi = next(s for s in summary["steps"] if s["step"] == "uefi")
    assert uefi["outcome"] == "not_observed"
    console_log = str(run.artifacts / run.dut / "console.log")
    assert main(["bootlog", console_log, "--chip", "t234", "--user-staged"]) == 0
    out = capsys.readouterr().out
    assert "  uefi    not observed" in out and "verdict: OK, booted to the login prompt" in out


def test_boot_hang_times_out_naming_the_stage(flow_run: Callable[..., Any]) -> None:
    run = flow_run("sim-orin", "--jetson-sim-fault=boot_hang", "--jetson-deadline=boot=1.2")
    failure = _assert_domain_failure(run, "kernel", "boot stage 'kernel' did not end")
    steps = {s["step"]: s["outcome"] for s in run.summary["steps"]}
    assert (steps["uefi"], steps["kernel"], run.summary["outcome"]) == ("seen", "failed", "failed")
    assert "timed out after" in failure and "last" in failure


def test_oem_wizard_fails_the_login_naming_the_wizard(flow_run: Callable[..., Any]) -> None:
    run = flow_run("sim-orin", "--jetson-sim-fault=oem_wizard")
    failure = _assert_domain_failure(run, "login", "boot failed in stage 'login'", "oem_wizard")
    assert "Please complete system configuration setup" in failure


@pytest.mark.parametrize(
    ("sig", "status", "shown"),
    [
        (signal.SIGINT, pytest.ExitCode.INTERRUPTED, "! KeyboardInterrupt !"),
        (signal.SIGTERM, -signal.SIGTERM, "Terminated: SIGTERM received: stopping as after Ctrl-C"),
    ],
    ids=["ctrl-c", "sigterm"],
)
def test_an_interrupted_flash_records_interrupted_and_leaves_nothing(
    pytester: pytest.Pytester,
    sig: signal.Signals,
    status: int,
    shown: str,
) -> None:
    """Ctrl-C, or SIGTERM from a CI runner cancelling the job: the same orderly end."""
    pytester.makepyfile(test_hil="def test_never(jetson_shell):\n    pass\n")
    artifacts = pytester.path / "artifacts"
    flash_log = artifacts / "sim-orin" / "flash.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--dut=sim-orin",
            "--jetson-flash",
            SPEED,
            "--jetson-sim-fault=flash_hang",
            f"--jetson-artifacts={artifacts}",
            "--jetson-accept-plan",
            "test_hil.py",
        ],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for(
            lambda: flash_log.is_file() and "Sending mb2" in flash_log.read_text(),
            60,
            "the flash to start",
        )
        sim_root = flash_log.read_text().split("$ cd ", 1)[1].split("/sim-host/", 1)[0]
        assert processes_under(sim_root), "the flash tool should be running"
        proc.send_signal(sig)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = output.decode(errors="replace")
    assert proc.returncode == status, text
    assert shown in text, text
    summary = json.loads(Path(artifacts / "sim-orin" / "summary.json").read_text())
    assert summary["outcome"] == "interrupted", summary
    flash = next(s for s in summary["steps"] if s["step"] == "flash")
    assert flash["outcome"] == "interrupted"
    assert processes_under(sim_root) == []
    assert not Path(sim_root).exists()  # the simulated bench was taken down
