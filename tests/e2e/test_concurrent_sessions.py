"""Two pytest sessions asking for one DUT: the exclusive lock, its holder, and holders that die.

Session 1 is a real ``python -m pytest`` process whose test holds the DUT until the file
``release`` appears; session 2 runs in-process (pytester) against the same inventory and lock
directory.
"""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_jetson.host.lock import HolderRecord
from tests.helpers import (
    SPEED,
    consoles_of,
    junit_cases,
    outcome,
    properties,
    remove_sim_workdirs,
    wait_for,
    write_bench,
)

RECORD = Path("hil", "locks", "pair-a.holder.json")

HOLD = """
import os
import time
from pathlib import Path


def test_hold(jetson_dut):
    Path("holding").write_text(str(os.getpid()))
    deadline = time.monotonic() + 60
    while not Path("release").exists():
        assert time.monotonic() < deadline, "never released"
        time.sleep(0.02)
"""

SECOND = """
import os
from pathlib import Path

from pytest_jetson.host.lock import HolderRecord


def test_second(jetson_dut):
    record = HolderRecord.read(Path("hil/locks/pair-a.holder.json"))
    assert record is not None and record.pid == os.getpid(), record
    Path("second-ran").write_text("yes")
"""


@pytest.fixture
def holder(pytester: pytest.Pytester, start_session: Callable[..., Any]) -> Any:
    """Session 1, holding DUT pair-a (its holder record written) until ``release`` exists."""
    write_bench(pytester)
    pytester.makepyfile(test_hold=HOLD, test_second=SECOND)
    session = start_session("--dut=pair-a", SPEED, "--junitxml=junit-1.xml", "test_hold.py")
    record = pytester.path / RECORD
    wait_for(
        lambda: (pytester.path / "holding").exists() and record.exists(),
        60,
        "session 1 holding pair-a",
        proc=session,
    )
    return session


def run_second(pytester: pytest.Pytester, *options: str) -> pytest.RunResult:
    return pytester.runpytest(
        "--dut=pair-a", SPEED, "--junitxml=junit-2.xml", "-rA", *options, "test_second.py"
    )


def test_second_session_waits_then_fails_naming_the_holder_as_infra(
    pytester: pytest.Pytester, holder: Any
) -> None:
    result = run_second(pytester, "--jetson-lock-timeout=1")

    result.assert_outcomes(errors=1)
    assert not (pytester.path / "second-ran").exists()
    text = result.stdout.str()
    assert "DUT pair-a is locked by pid" in text and "waiting up to 1s" in text
    result.stdout.fnmatch_lines(
        [
            f"*DUT 'pair-a' is locked by another session: pid {holder.pid} on host "
            f"{socket.gethostname()} (user *), since 20??-??-??T??:??:??* (* s ago), "
            "command: * -m pytest * test_hold.py*Waited 1.? s (timeout 1 s)*",
        ]
    )
    [case] = junit_cases(pytester.path / "junit-2.xml")
    assert outcome(case) == "error"
    assert properties(case) == {"failure_class": "infra", "dut": "pair-a"}

    # Flashing a held DUT: the first step waits and errors, the rest skip without waiting.
    flash = run_second(
        pytester, "--jetson-lock-timeout=1", "--jetson-flash", "--jetson-accept-plan"
    )
    flash.assert_outcomes(errors=1, skipped=14)
    assert flash.stdout.str().count("waiting up to 1s") == 1
    flash.stdout.fnmatch_lines(
        [
            "SKIPPED [[]13[]] *: DUT pair-a could not be locked for this session",
            "ERROR jetson-flash[[]pair-a[]]::01-preflight-bsp_image - DUT 'pair-a' is locked *",
        ]
    )
    assert "LockTimeout" not in flash.stdout.str()  # the message, not the exception's class

    # Session 1 never noticed: it still holds the DUT and ends green.
    record = HolderRecord.read(pytester.path / RECORD)
    assert record is not None and record.pid == holder.pid
    (pytester.path / "release").write_text("")
    assert holder.wait() == 0, holder.text()
    [case] = junit_cases(pytester.path / "junit-1.xml")
    assert outcome(case) == "passed"
    assert "failure_class" not in properties(case)
    assert not (pytester.path / RECORD).exists()


def test_a_killed_holder_frees_the_dut_at_once(pytester: pytest.Pytester, holder: Any) -> None:
    consoles = consoles_of(holder.pid)
    assert len(consoles) == 1, consoles  # pair-a's simulated console, owned by session 1
    [argv] = consoles.values()
    host = Path(argv[-2].split("/sim-host/", 1)[0])
    try:
        holder.signal(signal.SIGKILL)
        assert holder.wait() == -signal.SIGKILL
        wait_for(lambda: not consoles_of(holder.pid), 10, "session 1's console to die with it")
        assert host.is_dir()  # a killed session cannot clean up its simulated host
        record_path = pytester.path / RECORD
        stale = HolderRecord.read(record_path)
        assert stale is not None and stale.pid == holder.pid  # the dead holder left its record

        result = run_second(pytester, "--jetson-lock-timeout=0")  # one attempt, no waiting

        result.assert_outcomes(passed=1)
        assert "locked by" not in result.stdout.str()
        assert f"pid {holder.pid}" not in result.stdout.str()
        assert not record_path.exists()  # session 2 released it at its end
        assert not host.exists()  # session 2 wiped the stale host, used it, then removed it
    finally:
        remove_sim_workdirs(consoles)


def test_sigterm_to_a_holder_releases_the_dut(pytester: pytest.Pytester, holder: Any) -> None:
    consoles = consoles_of(holder.pid)
    [argv] = consoles.values()
    workdir = Path(argv[-2].split("/sim-host/", 1)[0])
    record_path = pytester.path / RECORD
    try:
        holder.signal(signal.SIGTERM)
        assert holder.wait() == -signal.SIGTERM, holder.text()  # it still dies of the signal
    finally:
        remove_sim_workdirs(consoles)
    # Before dying it ended as after Ctrl-C: interrupted, reported, cleaned up and unlocked.
    assert "SIGTERM received: stopping as after Ctrl-C" in holder.text()
    assert (pytester.path / "junit-1.xml").is_file()
    assert not consoles_of(holder.pid) and not workdir.exists()
    assert not record_path.exists()  # released by the session itself, not left to the kernel

    result = run_second(pytester, "--jetson-lock-timeout=0")

    result.assert_outcomes(passed=1)
    assert f"pid {holder.pid}" not in result.stdout.str()


def test_ctrl_c_ends_the_holder_cleanly_and_releases_the_dut(
    pytester: pytest.Pytester, holder: Any
) -> None:
    consoles = consoles_of(holder.pid)
    [argv] = consoles.values()
    workdir = Path(argv[-2].split("/sim-host/", 1)[0])
    assert workdir.is_dir()

    holder.signal(signal.SIGINT)

    assert holder.wait() == pytest.ExitCode.INTERRUPTED, holder.text()
    assert "KeyboardInterrupt" in holder.text()
    assert not (pytester.path / RECORD).exists()
    assert not consoles_of(holder.pid) and not workdir.exists()  # the session closed
    run_second(pytester, "--jetson-lock-timeout=0").assert_outcomes(passed=1)


@pytest.mark.parametrize("value", ["-1", "nan", "inf"])
def test_a_lock_timeout_must_be_finite_seconds(pytester: pytest.Pytester, value: str) -> None:
    result = pytester.runpytest("--dut=sim-orin", f"--jetson-lock-timeout={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"*argument --jetson-lock-timeout: expected seconds >= 0 and <= 604800, got '{value}'"]
    )


HOLD_EACH = """
import os
import time
from pathlib import Path


def test_hold(jetson_dut_name, jetson_dut):
    Path(f"holding-{jetson_dut_name}-{os.getpid()}").write_text("")
    deadline = time.monotonic() + 60
    while not Path("release").exists():
        assert time.monotonic() < deadline, "never released"
        time.sleep(0.02)
"""


def test_sessions_selecting_duts_in_opposite_orders_both_finish(
    pytester: pytest.Pytester, start_session: Callable[..., Any]
) -> None:
    """Session 1 selects pair-a,pair-b and session 2 pair-b,pair-a. Taken in the order of
    use, each would hold its first DUT and wait for the other until the lock timeout; taken
    in one global order, the second waits for the first to end, then runs."""
    write_bench(pytester)
    pytester.makepyfile(test_each=HOLD_EACH)
    timeout = "--jetson-lock-timeout=60"
    one = start_session("--dut=pair-a,pair-b", SPEED, timeout, "test_each.py")
    two = start_session("--dut=pair-b,pair-a", SPEED, timeout, "test_each.py")

    def both_engaged() -> bool:
        holding = {p.name.rsplit("-", 1)[1] for p in pytester.path.glob("holding-*")}
        waiting = {s.pid for s in (one, two) if "waiting up to 60s" in s.text()}
        return len(holding) + len(waiting) >= 2

    # Both sessions are in: each holds a DUT in its test (the deadlock to come), or one
    # holds and the other waits for a lock.
    wait_for(both_engaged, 60, "both sessions holding or waiting for a DUT")
    (pytester.path / "release").write_text("")

    for session in (one, two):
        assert session.wait(90) == 0, session.text()
        assert "2 passed" in session.text() and "Waited" not in session.text()
    assert not list((pytester.path / "hil" / "locks").glob("*.holder.json"))
