"""DUT locks between real processes: waiting, naming the holder, crashes and signals."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_jetson.errors import BenchError
from pytest_jetson.host.lock import DutLock, HolderRecord, LockTimeout
from tests.helpers import proc_state

StartHolder = Any  # the start_holder fixture: start(mode, name, *, env=None) -> Holder


def wait_state(pid: int, wanted: str, within: float = 10.0) -> str:
    end = time.monotonic() + within
    while (state := proc_state(pid)) != wanted and time.monotonic() < end:
        time.sleep(0.02)
    return state


def test_second_session_waits_then_fails_naming_the_holder(
    start_holder: StartHolder, lock_dir: Path
) -> None:
    holder = start_holder("dut", "orin-01", env={"CI_JOB_ID": "job-77"})

    with pytest.raises(LockTimeout) as caught:
        DutLock("orin-01", lock_dir).acquire(0.5, poll=0.05)

    error = caught.value
    message = str(error)
    assert isinstance(error, BenchError)
    assert f"pid {holder.pid} on host {socket.gethostname()}" in message
    assert "holder_proc.py dut orin-01" in message
    assert "CI job CI_JOB_ID=job-77" in message
    assert error.holder is not None and error.holder.pid == holder.pid
    assert f"since {error.holder.since}" in message
    assert "timeout 0.5 s" in message
    assert error.waited >= 0.5
    # The first session is unaffected: it still holds the lock and releases it normally.
    holder.send("release")
    holder.expect("released")
    DutLock("orin-01", lock_dir).acquire(0)


def test_waiter_takes_the_lock_when_the_holder_releases(
    start_holder: StartHolder, lock_dir: Path
) -> None:
    holder = start_holder("dut", "orin-01")
    seen: list[HolderRecord | None] = []

    def on_wait(record: HolderRecord | None) -> None:
        seen.append(record)
        holder.send("release")

    lock = DutLock("orin-01", lock_dir, command=["pytest", "--dut", "orin-01"])
    lock.acquire(30, poll=0.05, on_wait=on_wait)

    assert [r.pid if r else None for r in seen] == [holder.pid]
    record = lock.holder()
    assert record is not None
    assert (record.pid, record.command) == (os.getpid(), ("pytest", "--dut", "orin-01"))
    assert lock.took_over is None


def test_timeout_zero_fails_without_waiting(start_holder: StartHolder, lock_dir: Path) -> None:
    holder = start_holder("dut", "thor-01")
    waited: list[object] = []

    with pytest.raises(LockTimeout) as caught:
        DutLock("thor-01", lock_dir).acquire(0, on_wait=waited.append)

    assert waited == []
    assert caught.value.timeout == 0
    assert f"pid {holder.pid}" in str(caught.value)


def test_two_duts_do_not_block_each_other(start_holder: StartHolder, lock_dir: Path) -> None:
    start_holder("dut", "thor-01")
    other = DutLock("thor-02", lock_dir)
    other.acquire(0)
    assert other.held
    with pytest.raises(LockTimeout):
        DutLock("thor-01", lock_dir).acquire(0)


def test_a_sigkilled_holder_frees_the_lock(start_holder: StartHolder, lock_dir: Path) -> None:
    holder = start_holder("dut", "orin-01")
    os.kill(holder.pid, signal.SIGKILL)
    assert holder.wait() == -signal.SIGKILL

    lock = DutLock("orin-01", lock_dir)
    lock.acquire(0)

    assert lock.took_over is not None and lock.took_over.pid == holder.pid
    record = lock.holder()
    assert record is not None and record.pid == os.getpid()


def test_a_killed_holder_that_is_not_yet_reaped_is_dead(
    start_holder: StartHolder, lock_dir: Path
) -> None:
    holder = start_holder("dut", "orin-01")
    lock = DutLock("orin-01", lock_dir)
    record = HolderRecord.read(lock.record_path)
    assert record is not None and record.liveness() == "alive"

    os.kill(holder.pid, signal.SIGKILL)
    lock.acquire(30, poll=0.05)  # the kernel drops the flock at exit, before any reaping

    assert wait_state(holder.pid, "Z") == "Z"
    assert record.liveness() == "dead"


def test_a_stale_record_is_not_blamed(start_holder: StartHolder, lock_dir: Path) -> None:
    crashed = start_holder("dut", "orin-01")
    os.kill(crashed.pid, signal.SIGKILL)
    crashed.wait()
    foreign = start_holder("raw", "orin-01")  # holds the flock, writes no record

    with pytest.raises(LockTimeout) as caught:
        DutLock("orin-01", lock_dir).acquire(0)

    message = str(caught.value)
    assert caught.value.holder is None
    assert f"the kernel names pid {foreign.pid}" in message
    assert "holder_proc.py raw orin-01" in message
    assert f"names pid {crashed.pid} on this host, which is no longer running" in message
    assert f"session: pid {crashed.pid}" not in message


def test_sigterm_releases_and_removes_the_record(start_holder: StartHolder, lock_dir: Path) -> None:
    holder = start_holder("dut", "orin-01")
    os.kill(holder.pid, signal.SIGTERM)

    assert holder.wait() == -signal.SIGTERM  # the signal went on after the release
    lock = DutLock("orin-01", lock_dir)
    assert not lock.record_path.exists()
    lock.acquire(0)
    assert lock.took_over is None


def test_sigterm_during_a_runner_child_releases(start_holder: StartHolder, lock_dir: Path) -> None:
    holder = start_holder("runner", "orin-01")
    os.kill(holder.pid, signal.SIGTERM)

    assert holder.wait() == -signal.SIGTERM
    lock = DutLock("orin-01", lock_dir)
    assert not lock.record_path.exists()
    lock.acquire(0)


def test_ctrl_c_releases_and_removes_the_record(start_holder: StartHolder, lock_dir: Path) -> None:
    holder = start_holder("with", "orin-01")
    os.kill(holder.pid, signal.SIGINT)

    assert holder.wait() == -signal.SIGINT  # an uncaught KeyboardInterrupt
    lock = DutLock("orin-01", lock_dir)
    assert not lock.record_path.exists()
    lock.acquire(0)
    assert lock.took_over is None
