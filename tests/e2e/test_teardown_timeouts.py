"""The state DUTs are left in after the session, and the deadlines behind every step."""

from __future__ import annotations

import json
import re

import pytest

from tests.helpers import (
    HIL_TEST,
    SPEED,
    junit_cases,
    processes_under,
    properties,
    run_flash,
    summary,
    write_bench,
)

BENCH = """
lock_dir: locks
duts:
  pair-a:
    sim: {board: orin-agx}
    default_user: ubuntu
    teardown: power_off
    deadlines: {boot: 100}
  pair-b:
    sim: {board: thor-agx}
    default_user: nvidia
"""

# Reads the simulated boards once the session has torn them down (a closer registered at
# session start runs after the teardown, before the simulated host stops).
OBSERVER = """
import json
from pathlib import Path

from pytest_jetson.plugin.session import get_session
from pytest_jetson.sim.plugin import sim_duts


def pytest_sessionstart(session):
    state = get_session(session.config)

    def observe():
        boards = {
            name: {"mode": dut.state().mode, "in_rcm": dut.state().in_rcm}
            for name, dut in sim_duts(session.config).items()
        }
        Path(str(session.config.rootpath), "after.json").write_text(json.dumps(boards))

    state.on_close(observe)
"""

MARKERS = """
def pytest_collection_finish(session):
    for item in session.items:
        marker = item.get_closest_marker("timeout")
        if marker is not None:
            print("TIMEOUT", item.nodeid, marker.args, marker.kwargs)
"""


def test_teardown_leaves_each_dut_as_its_bench_entry_asks(pytester: pytest.Pytester) -> None:
    write_bench(pytester, BENCH)
    pytester.makeconftest(OBSERVER)
    pytester.makepyfile(test_hil=HIL_TEST)
    result, artifacts = run_flash(pytester, "pair-a,pair-b")

    result.assert_outcomes(passed=29, skipped=1)
    after = json.loads((pytester.path / "after.json").read_text())
    assert after["pair-a"]["mode"] == "off"  # teardown: power_off
    assert after["pair-b"]["mode"] == "on"  # no teardown given: left booted
    done = summary(artifacts, "pair-a")["teardown"]
    assert done.startswith("power_off: "), done
    assert re.search(r" -t topo -s TOPO[0-9A-F]{8} power_off$", done), done
    assert summary(artifacts, "pair-b")["teardown"] == "left as it was"
    last = (artifacts / "pair-a" / "boardctl.log").read_text().split("$ ")[-1]
    assert "power_off" in last.splitlines()[0], last
    result.stdout.fnmatch_lines(["jetson teardown pair-a: power_off: *power_off"])


def test_the_teardown_option_overrides_the_bench_without_a_flash(pytester: pytest.Pytester) -> None:
    write_bench(pytester, BENCH)
    pytester.makeconftest(OBSERVER)
    pytester.makepyfile(test_uses="def test_uses(jetson_dut):\n    assert jetson_dut.name\n")
    result = pytester.runpytest(
        "--dut=pair-a,pair-b",
        SPEED,
        f"--jetson-artifacts={pytester.path / 'art'}",
        "--jetson-teardown=recovery",
        "test_uses.py",
    )

    result.assert_outcomes(passed=2)
    after = json.loads((pytester.path / "after.json").read_text())
    assert after == {
        "pair-a": {"mode": "recovery", "in_rcm": True},
        "pair-b": {"mode": "recovery", "in_rcm": True},
    }
    result.stdout.fnmatch_lines(
        [
            "jetson teardown pair-a: recovery: *-t topo -s TOPO* recovery",
            "jetson teardown pair-b: recovery: *-t thor-jetson-module -s TOPO* recovery",
        ]
    )


def test_step_timeouts_derive_from_the_deadlines_shown_in_the_plan(
    pytester: pytest.Pytester,
) -> None:
    write_bench(pytester, BENCH)
    pytester.makeconftest(MARKERS)
    pytester.makepyfile(test_hil=HIL_TEST)
    result = pytester.runpytest(
        "--dut=pair-a",
        "--jetson-flash",
        "--jetson-deadline=flash=7",
        "--collect-only",
        "-q",
        "-s",
        "test_hil.py",
    )

    timeouts = {}
    for line in result.stdout.lines:
        if line.startswith("TIMEOUT "):
            _, nodeid, rest = line.split(" ", 2)
            timeouts[nodeid] = rest
    signal = "{'method': 'signal'}"
    assert timeouts["jetson-flash[pair-a]::07-flash"] == f"(67.0,) {signal}"
    # boardctl 120 + rcm 60, plus the margin of 60
    assert timeouts["jetson-flash[pair-a]::02-preflight-rcm"] == f"(240.0,) {signal}"
    # the bench's boot deadline (100) for the boot stages
    assert timeouts["jetson-flash[pair-a]::12-kernel"] == f"(160.0,) {signal}"
    assert len(timeouts) == 14  # every step, and no ordinary test

    plan = pytester.runpytest(
        "--dut=pair-a",
        "--jetson-flash",
        "--jetson-plan-only",
        "--jetson-deadline=flash=7",
        SPEED,
        f"--jetson-artifacts={pytester.path / 'art'}",
        "test_hil.py",
    )
    plan.stdout.fnmatch_lines(
        [
            "Flash plan for DUT pair-a *",
            "  Deadlines:    boardctl 120s, rcm 60s, eeprom 180s, default_user 300s, "
            "flash 7s, boot 100s, login 60s, recovery 30s",
        ]
    )


HUNG = """
lock_dir: locks
duts:
  pair-a:
    sim: {board: orin-agx, faults: [flash_hang]}
    default_user: ubuntu
    teardown: power_off
"""

# A backstop shorter than the flash deadline, to see what happens when it fires.
SHORT_BACKSTOP = """
import pytest


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    for item in session.items:
        if getattr(item, "step", None) == "flash":
            item.add_marker(pytest.mark.timeout(2, method="signal"), append=False)
"""


def test_the_timeout_backstop_is_infra_and_teardown_still_runs(pytester: pytest.Pytester) -> None:
    write_bench(pytester, HUNG)
    pytester.makeconftest(SHORT_BACKSTOP)
    pytester.makepyfile(test_hil=HIL_TEST)
    result, artifacts = run_flash(pytester, "pair-a", "--junitxml=junit.xml")

    result.assert_outcomes(passed=6, skipped=8, errors=1)
    result.stdout.fnmatch_lines(
        [
            "jetson flash [[]pair-a[]]: Timeout (>2.0s) from pytest-timeout. The step's own "
            "deadline should have fired first: *",
        ]
    )
    [flash] = [c for c in junit_cases(pytester.path / "junit.xml") if c.get("name") == "07-flash"]
    assert properties(flash)["failure_class"] == "infra"
    data = summary(artifacts, "pair-a")
    assert data["outcome"] == "interrupted"  # the flash tool was stopped, not left running
    assert data["teardown"].startswith("power_off: ")
    # The flow tool ran in this session's tree; nothing may still run there (other sessions
    # on this host, such as another worker's flash, run their own flash.sh elsewhere).
    first = (artifacts / "pair-a" / "flash.log").read_text().splitlines()[0]
    lft = first.split("$ cd ", 1)[1].split(" && ", 1)[0]
    assert lft.endswith("/Linux_for_Tegra")
    assert processes_under(lft) == []
