"""Several DUTs in one session: one pytest-xdist worker per DUT, flashing in parallel, or one
DUT after the other without xdist; every result names its DUT."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import HIL_TEST, SPEED, junit_cases, properties, run_flash, summary, write_bench

# Both flash steps must be running at once: each waits at the flash step for the other.
BARRIER = """
import time
from pathlib import Path


def pytest_runtest_call(item):
    if getattr(item, "step", None) != "flash":
        return
    here = Path(str(item.config.rootpath))
    (here / f"flashing-{item.dut_name}").write_text("")
    deadline = time.monotonic() + 30
    while len(list(here.glob("flashing-*"))) < 2:
        assert time.monotonic() < deadline, "the other DUT was not flashing at the same time"
        time.sleep(0.01)
"""

VERBOSE_LINE = re.compile(r"^(?:\[(gw\d+)\] )?\[\s*\d+%\] (PASSED|SKIPPED|FAILED|ERROR) (\S+)")
VERBOSE_LINE_LOCAL = re.compile(r"^(\S+) (PASSED|SKIPPED|FAILED|ERROR)\b")


def run_pair(pytester: pytest.Pytester, *options: str) -> tuple[pytest.RunResult, Any]:
    write_bench(pytester)
    pytester.makepyfile(test_hil=HIL_TEST)
    result, artifacts = run_flash(pytester, "pair-a,pair-b", "--junitxml=junit.xml", "-v", *options)
    return result, artifacts


def dut_in(nodeid: str) -> str:
    found = re.findall(r"\[(pair-[ab])\]", nodeid)
    assert len(found) == 1, f"{nodeid} does not name exactly one DUT"
    return str(found[0])


def check_junit(pytester: pytest.Pytester) -> None:
    """Every JUnit testcase carries the ``dut`` property of the DUT its name shows."""
    cases = junit_cases(pytester.path / "junit.xml")
    assert len(cases) == 30
    for case in cases:
        shown = dut_in(f"{case.get('classname')}::{case.get('name')}")
        assert properties(case).get("dut") == shown, (case.attrib, properties(case))


def check_summaries(artifacts: Any) -> None:
    for dut in ("pair-a", "pair-b"):
        data = summary(artifacts, dut)
        assert (data["dut"], data["outcome"]) == (dut, "booted")


def test_two_duts_flash_in_parallel_one_worker_each(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(BARRIER)
    result, artifacts = run_pair(pytester, "-n", "2")

    result.assert_outcomes(passed=29, skipped=1)  # Orin needs no post-flash reset
    workers: dict[str, set[str]] = {"pair-a": set(), "pair-b": set()}
    seen = []
    for line in result.stdout.lines:
        match = VERBOSE_LINE.match(line)
        if match:
            worker, _, nodeid = match.groups()
            assert worker, line
            workers[dut_in(nodeid)].add(worker)
            seen.append(nodeid)
    assert len(seen) == 30
    assert "jetson-flash[pair-a]::07-flash" in seen and "jetson-flash[pair-b]::07-flash" in seen
    assert "test_hil.py::test_on_the_board[pair-b]" in seen
    assert len(workers["pair-a"]) == len(workers["pair-b"]) == 1, workers
    assert workers["pair-a"] != workers["pair-b"]
    assert sorted(p.name for p in pytester.path.glob("flashing-*")) == [
        "flashing-pair-a",
        "flashing-pair-b",
    ]
    check_junit(pytester)
    check_summaries(artifacts)


def test_without_xdist_duts_run_one_after_the_other(pytester: pytest.Pytester) -> None:
    result, artifacts = run_pair(pytester)

    result.assert_outcomes(passed=29, skipped=1)
    order = []
    for line in result.stdout.lines:
        match = VERBOSE_LINE_LOCAL.match(line)
        if match:
            order.append(match.group(1))
    assert len(order) == 30, result.stdout.str()
    duts = [dut_in(nodeid) for nodeid in order]
    assert duts == ["pair-a"] * 15 + ["pair-b"] * 15
    assert order[13:16] == [
        "jetson-flash[pair-a]::14-release",
        "test_hil.py::test_on_the_board[pair-a]",
        "jetson-flash[pair-b]::01-preflight-bsp_image",
    ]
    check_junit(pytester)
    check_summaries(artifacts)


POOL = """
lock_dir: locks
duts:
  orin-1: {profile: jetson-agx-orin-devkit, sim: {board: orin-agx}, default_user: ubuntu}
  thor-1: {sim: {board: thor-agx}, default_user: nvidia}
  orin-2: {profile: jetson-agx-orin-devkit, sim: {board: orin-agx}, default_user: ubuntu}
"""


def test_a_pool_selects_every_dut_of_a_profile(pytester: pytest.Pytester) -> None:
    write_bench(pytester, POOL)
    profile = pytester.path / "profiles" / "jetson-agx-orin-devkit.yaml"
    profile.parent.mkdir()
    profile.write_text(
        (Path(__file__).parents[2] / "profiles" / "jetson-agx-orin-devkit.yaml").read_text()
    )
    pytester.makepyfile(test_pool="def test_x(jetson_dut):\n    assert jetson_dut.name\n")
    result = pytester.runpytest("--dut=@jetson-agx-orin-devkit", SPEED, "-v", "test_pool.py")

    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["test_pool.py::test_x[[]orin-1[]] PASSED*", "test_pool.py::test_x[[]orin-2[]] PASSED*"]
    )
    unknown = pytester.runpytest("--dut=@jetson-orin-nano-devkit", "test_pool.py")
    assert unknown.ret == pytest.ExitCode.USAGE_ERROR
    unknown.stderr.fnmatch_lines(["*--dut @jetson-orin-nano-devkit: no DUT of profile*"])


TWINS = """
lock_dir: locks
duts:
  twin-a:
    sim: {board: orin-agx, faults: [flash_fail]}
    default_user: ubuntu
  twin-b:
    sim: {board: orin-agx}
    default_user: ubuntu
"""

# A bench whose inventory names no RCM port: the single Jetson in recovery is the DUT.
NO_USB_PORT = """
import dataclasses

import pytest


@pytest.hookimpl(wrapper=True)
def pytest_jetson_resolve_dut(config, name, workdir):
    entry = yield
    return None if entry is None else dataclasses.replace(entry, usb_port=None)
"""


def test_a_failed_flash_leaves_the_next_dut_unaffected(pytester: pytest.Pytester) -> None:
    """Without xdist, on a bench that names no RCM port: twin-a's flash fails while it is in
    recovery; it is powered off before twin-b's steps, so twin-b's RCM check and EEPROM read
    see one Jetson (not "2 Orin devices are in recovery") and it boots."""
    write_bench(pytester, TWINS)
    pytester.makeconftest(NO_USB_PORT)
    pytester.makepyfile(test_hil=HIL_TEST)
    result, artifacts = run_flash(pytester, "twin-a,twin-b", "--jetson-sim-speed=20", "-rA")

    a, b = summary(artifacts, "twin-a"), summary(artifacts, "twin-b")
    assert (a["outcome"], b["outcome"]) == ("failed", "booted"), result.stdout.str()
    result.assert_outcomes(failed=1, passed=6 + 14, skipped=8 + 1)
    assert a["teardown"].startswith("power_off after its failed step 'flash'"), a["teardown"]
    assert "twin-b" in a["teardown"] and b["teardown"] == "left as it was"
    result.stdout.fnmatch_lines(["*jetson teardown twin-a: power_off after its failed step*"])
