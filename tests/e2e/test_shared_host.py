"""Several Jetsons on one bench host, run by several xdist workers (issue 13): every worker's
simulator opens the same simulated host, so one worker's boardctl, RCM devices and flow tools
are what another worker's tools see, as on a real bench."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import HIL_TEST, SPEED, run_flash, summary, write_bench

# Each DUT's worker waits at ``STEP`` until every DUT got there (so all are on the host, and at
# the EEPROM step all are in recovery at once).
BARRIER = """
import time
from pathlib import Path


def pytest_runtest_call(item):
    if getattr(item, "step", None) != {step!r}:
        return
    here = Path(str(item.config.rootpath))
    (here / f"at-{{item.dut_name}}").write_text("")
    deadline = time.monotonic() + 60
    while len(list(here.glob("at-*"))) < {count}:
        assert time.monotonic() < deadline, "the other DUTs did not get there"
        time.sleep(0.01)
"""

SAME_IMAGE = """
lock_dir: locks
duts:
  t1: {sim: {board: thor-agx, tree: thor}, default_user: ubuntu}
  t2: {sim: {board: thor-agx, tree: thor}, default_user: ubuntu}
"""


def test_two_duts_of_one_image_on_one_host_under_xdist(pytester: pytest.Pytester) -> None:
    """Both in recovery at once (nvautoflash saw two Jetsons) and each read on its own port;
    one build for both and each flashed with --flash-only on its port, never two flow-tool
    runs in the tree at once (the simulated tools fail such a clash as the real ones break)."""
    write_bench(pytester, SAME_IMAGE)
    pytester.makeconftest(BARRIER.format(step="preflight-eeprom", count=2))
    pytester.makepyfile(test_hil=HIL_TEST)
    result, artifacts = run_flash(pytester, "t1,t2", "-n", "2")
    assert result.ret == 0, result.stdout.str()[-3000:]
    first, second = summary(artifacts, "t1"), summary(artifacts, "t2")
    ports = set()
    for dut, data in (("t1", first), ("t2", second)):
        assert data["outcome"] == "booted"
        flash = next(s for s in data["steps"] if s["step"] == "flash")
        assert flash["command"][1:3] == ["--flash-only", "--usb-instance"]
        port = flash["command"][3]
        ports.add(port)
        eeprom = (artifacts / dut / "eeprom.log").read_text()
        assert f"--print_boardid --usb-instance {port}" in eeprom
        assert "*** Checking target board connection ... 2 connections found." in eeprom
    assert ports == {"1-4", "1-5"}  # two Jetsons on one host
    assert first["tree_lock"]["tree"] == second["tree_lock"]["tree"]
    roles = sorted([first["image_build"]["role"], second["image_build"]["role"]])
    assert roles == ["built", "reused"]


MIXED = """
lock_dir: locks
duts:
  a:
    sim: {board: orin-agx, release: R36.2.0}
    usb_port: 1-4
    default_user: ubuntu
  b:
    sim: {board: orin-agx, release: R36.2.0, debugger: unnamed}
    usb_port: 1-5
    default_user: ubuntu
    deadlines: {rcm: 1}
  c:
    sim: {board: thor-agx, release: R38.4.0, debugger: unnamed}
    usb_port: 1-6
    default_user: ubuntu
"""

# One test per DUT, each on its own worker. Once all three are on the host, b (R36.2, no -s)
# runs the product's RCM check and c (R38.4, no -s) asks for recovery; a, which nobody asked,
# reports its board's state after b's boardctl ran.
UNNAMED = """
import json
import time
from pathlib import Path

from pytest_jetson.errors import BenchError
from pytest_jetson.sim.plugin import sim_duts


def _wait(here, pattern, count):
    deadline = time.monotonic() + 60
    while len(list(here.glob(pattern))) < count:
        assert time.monotonic() < deadline, f"waited for {pattern}"
        time.sleep(0.01)


def test_board(jetson_dut, pytestconfig):
    here = Path(str(pytestconfig.rootpath))
    name = jetson_dut.name
    (here / f"ready-{name}").write_text("")
    _wait(here, "ready-*", 3)
    seen = {}
    if name == "b":
        [outcome] = jetson_dut.preflight(["rcm"], flow_tool=None)
        seen = {"status": outcome.status, "message": outcome.message, "fix": outcome.fix}
        seen["in_rcm"] = sim_duts(pytestconfig)["b"].state().in_rcm
    elif name == "c":
        try:
            jetson_dut.boardctl().recovery()
        except BenchError as exc:
            seen = {"error": str(exc)}
    else:
        _wait(here, "done-b.json", 1)
        seen = {"mode": sim_duts(pytestconfig)["a"].state().mode}
    (here / f"done-{name}.json").write_text(json.dumps(seen))
"""


def test_boardctl_without_its_debugger_on_a_host_with_three(pytester: pytest.Pytester) -> None:
    """What an inventory without ``boardctl_serial`` did on a shared host (the load-time check
    now refuses it for real entries): R36.2 power-cycles another team's board into recovery and
    the product reports the Jetson that came up on another port; R38.4 refuses."""
    write_bench(pytester, MIXED)
    pytester.makepyfile(test_unnamed=UNNAMED)
    result = pytester.runpytest("--dut=a,b,c", SPEED, "-n", "3", "test_unnamed.py")
    result.assert_outcomes(passed=3)
    done = {n: json.loads((pytester.path / f"done-{n}.json").read_text()) for n in "abc"}

    assert done["a"] == {"mode": "recovery"}  # driven by b's boardctl: index 0 is a's TOPO
    assert done["b"]["status"] == "unavailable" and not done["b"]["in_rcm"]
    message = done["b"]["message"]
    assert "on USB port 1-5 within 1 s" in message
    assert "in recovery is on another port (1-4)" in message
    assert done["b"]["fix"].startswith("boardctl was not told which debugger is this DUT's")
    assert "give the DUT boardctl_serial" in done["b"]["fix"]
    assert done["c"]["error"].startswith("boardctl -t thor-jetson-module recovery failed")
    assert done["c"]["error"].endswith(
        "Exception: Multiple (3) debuggers detected! Serial number or index is required."
    )
    assert not list(Path(pytester.path, "hil", "locks").glob("pytest-jetson-sim-*"))
