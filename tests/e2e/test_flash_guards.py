"""The flash steps run only as a whole flow, once: never selected alone (``--lf``, node ids),
never retried by a plugin, and a failed step fails the session (issue 15, items 9, 12, 13)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest


def _digest(run: Any) -> str:
    found = re.search(r"Plan digest: +([0-9a-f]{16})", run.text)
    assert found, run.text
    return found.group(1)


def test_last_failed_never_runs_the_flash_step_alone(flow_run: Callable[..., Any]) -> None:
    first = flow_run("sim-orin", "--jetson-sim-fault=flash_fail")
    assert first.outcome_of("flash") == "failed"
    assert first.log("flash.log").count("./flash.sh --usb-instance") == 1

    again = flow_run("sim-orin", "--lf")
    assert again.result.ret != 0
    failure = again.failure_text("flash")
    assert "refusing to run step 'flash' for DUT sim-orin" in failure, failure
    assert "did not run in this session" in failure
    assert "flash.log" not in [p.name for p in (again.artifacts / "sim-orin").iterdir()]
    summary = again.summary
    assert summary["outcome"] == "failed"
    assert summary["message"].startswith("flash: refusing to run step 'flash'")


def test_plan_only_pins_each_dut_and_an_unpinned_dut_is_refused(
    flow_run: Callable[..., Any],
) -> None:
    digests = {}
    ports = {}
    for dut in ("sim-orin", "sim-orin-nano"):
        planned = flow_run(dut, "--jetson-plan-only", accept=None)
        assert planned.result.ret == 0, planned.text
        assert planned.summary["outcome"] == "planned"
        digests[dut] = planned.summary["plan_digest"]
        argv = planned.summary["plan"]["argv"]
        ports[dut] = argv[argv.index("--usb-instance") + 1]
    # each board on its own port even alone: the pinned digest holds whichever DUT of the
    # two-DUT run reaches the shared simulated host first
    assert ports == {"sim-orin": "1-4", "sim-orin-nano": "1-5"}
    assert digests["sim-orin"] != digests["sim-orin-nano"]

    run = flow_run(
        "sim-orin,sim-orin-nano",
        "-n",
        "2",
        "--jetson-sim-fault=flash_fail",
        accept=f"--jetson-accept-plan=sim-orin={digests['sim-orin']}",
    )
    assert run.result.ret != 0
    nano = json.loads((run.artifacts / "sim-orin-nano" / "summary.json").read_text())
    orin = json.loads((run.artifacts / "sim-orin" / "summary.json").read_text())
    assert nano["outcome"] == "refused"
    assert "pins the plans of sim-orin but not of DUT sim-orin-nano" in nano["message"], nano
    assert [s["step"] for s in orin["steps"] if s["step"] == "flash"] == ["flash"]  # accepted
    assert "flash.log" not in [p.name for p in (run.artifacts / "sim-orin-nano").iterdir()]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("sim-thor=0123456789abcdef", "'sim-thor' is not a selected DUT", id="dut"),
        pytest.param("sim-orin=xyz", "'xyz' is not a plan digest", id="digest"),
    ],
)
def test_a_malformed_pin_is_a_usage_error(
    pytester: pytest.Pytester, value: str, message: str
) -> None:
    result = pytester.runpytest("--dut=sim-orin", "--jetson-flash", f"--jetson-accept-plan={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()
    assert "Traceback" not in result.stderr.str()
