"""Two simulated Jetsons on one host, on different USB port paths (issue 4): the DUT's own port
is the only one the product looks at, in RCM detection and in the flash tool's argv."""

from __future__ import annotations

import json

import pytest

from tests.helpers import SPEED

BENCH = """
lock_dir: locks
duts:
  b:
    sim: {board: orin-agx}
    default_user: ubuntu
  a:
    sim: {board: orin-agx}
    default_user: ubuntu
"""

# The neighbour b is started and put into recovery through the plugin's own session state.
NEIGHBOUR = """
import json
from pathlib import Path

from pytest_jetson.plugin.session import get_session
from pytest_jetson.sim.plugin import sim_duts


def _neighbour_to_recovery(config):
    state = get_session(config)
    state.dut("b").boardctl().recovery()
    return state


def pytest_collection_finish(session):
    get_session(session.config).entry("b")  # b starts first: it takes the first port
    if {when!r} == "collection":
        _neighbour_to_recovery(session.config)


def pytest_runtest_setup(item):
    if {when!r} == "before-recovery" and getattr(item, "step", None) == "recovery":
        state = _neighbour_to_recovery(item.config)
        before = sim_duts(state.config)["b"].state().flashed
        item.config.stash_b_before = before


def pytest_sessionfinish(session):
    state = get_session(session.config)
    b = sim_duts(state.config)["b"].state()
    a = sim_duts(state.config)["a"].state()
    before = getattr(session.config, "stash_b_before", None)
    Path(str(session.config.rootpath), "neighbour.json").write_text(json.dumps({{
        "a_port": a.usb_port,
        "b_port": b.usb_port,
        "b_in_rcm": b.in_rcm,
        "b_untouched": before is None or b.flashed == before,
        "a_flashed_by": a.flashed.tool if a.flashed else None,
    }}))
"""


def _bench(pytester: pytest.Pytester, when: str) -> None:
    pytester.makefile(".yaml", **{"hil/bench": BENCH})
    pytester.makeconftest(NEIGHBOUR.format(when=when))


def test_rcm_sees_only_the_duts_port_and_eeprom_reads_it_with_its_usb_instance(
    pytester: pytest.Pytester,
) -> None:
    _bench(pytester, "collection")
    pytester.makepyfile(
        test_two="""
import pytest

def test_rcm_is_ours(jetson_rcm, jetson_entry):
    print("RCM", jetson_rcm, "OURS", jetson_entry.usb_port)

@pytest.mark.jetson_preflight("eeprom")
def test_eeprom():
    pass
"""
    )
    result = pytester.runpytest(
        "--dut=a", SPEED, f"--jetson-artifacts={pytester.path / 'art'}", "-rA", "-s"
    )
    result.assert_outcomes(passed=2)
    facts = json.loads((pytester.path / "neighbour.json").read_text())
    assert facts["b_port"] == "1-4" and facts["a_port"] == "1-5" and facts["b_in_rcm"]
    result.stdout.fnmatch_lines(["*RCM 0955:7023 @ 1-5 (*) OURS 1-5*"])
    # two Jetsons in recovery: nvautoflash saw both and read the DUT's own port
    log = (pytester.path / "art" / "a" / "eeprom.log").read_text()
    assert "nvautoflash.sh --print_boardid --usb-instance 1-5" in log
    assert "*** Checking target board connection ... 2 connections found." in log
    assert "Too many Jetson devices" not in log


def test_the_flash_tool_is_pinned_to_the_duts_port(pytester: pytest.Pytester) -> None:
    _bench(pytester, "before-recovery")
    pytester.makepyfile(
        test_hil="""
def test_on_the_board(jetson_shell):
    assert jetson_shell.run("echo up").strip() == "up"
"""
    )
    artifacts = pytester.path / "art"
    result = pytester.runpytest(
        "--dut=a",
        "--jetson-flash",
        SPEED,
        f"--jetson-artifacts={artifacts}",
        "-rA",
        "--jetson-accept-plan",
        "test_hil.py",
    )
    result.assert_outcomes(passed=14, skipped=1)
    facts = json.loads((pytester.path / "neighbour.json").read_text())
    assert facts == {
        "a_port": "1-5",
        "b_port": "1-4",
        "b_in_rcm": True,  # the neighbour still waits in recovery, never flashed
        "b_untouched": True,
        "a_flashed_by": "flash.sh",
    }
    summary = json.loads((artifacts / "a" / "summary.json").read_text())
    assert summary["plan"]["argv"] == [
        "./flash.sh",
        "--usb-instance",
        "1-5",
        "jetson-agx-orin-devkit",
        "internal",
    ]
    recovery = next(s for s in summary["steps"] if s["step"] == "recovery")
    assert "@ 1-5" in recovery["message"]
