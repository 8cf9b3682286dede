"""DutLock in one process: files and modes, names, records, messages, release."""

from __future__ import annotations

import dataclasses
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import filelock
import pytest

from pytest_jetson.errors import BenchError
from pytest_jetson.host.lock import (
    DutLock,
    HolderRecord,
    LockError,
    LockTimeout,
    lock_file_stem,
)


@pytest.fixture
def foreign_flock(lock_dir: Path) -> Iterator[filelock.BaseFileLock]:
    """The flock on orin-01's lock file, held through another open file (no record)."""
    lock_dir.mkdir()
    raw = filelock.FileLock(DutLock("orin-01", lock_dir).lock_path, fallback_to_soft=False)
    raw.acquire(timeout=0)
    yield raw
    raw.release()


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_lock_dir_and_files_are_group_writable(tmp_path: Path) -> None:
    lock_dir = tmp_path / "a" / "locks"
    old = os.umask(0o022)
    try:
        lock = DutLock("orin-01", lock_dir)
        lock.acquire(0)
    finally:
        os.umask(old)
    assert mode(lock_dir) == 0o775
    assert (lock.lock_path, lock.record_path) == (
        lock_dir / "orin-01.lock",
        lock_dir / "orin-01.holder.json",
    )
    assert mode(lock.lock_path) == 0o664
    assert mode(lock.record_path) == 0o664


def test_unsafe_names_stay_inside_the_lock_dir_and_never_collide(lock_dir: Path) -> None:
    names = ["../etc/passwd", "a/b", "a_b", "a b", ".hidden", "", "x" * 300, "thor-01"]
    locks = [DutLock(name, lock_dir) for name in names]
    for lock in locks:
        assert lock.lock_path.parent == lock_dir
        assert not lock.lock_path.name.startswith(".")
    assert len({lock.lock_path for lock in locks}) == len(names)
    assert lock_file_stem("thor-01") == "thor-01"
    for lock in locks:
        lock.acquire(0)  # every derived name is a usable file name


def test_record_describes_the_holder(lock_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI_JOB_ID", raising=False)
    monkeypatch.setenv("GITHUB_RUN_ID", "991")
    monkeypatch.setenv("BUILD_TAG", "jenkins-x-1")
    lock = DutLock("orin-01", lock_dir, command=["pytest", "--dut", "orin-01", "-k", "a b"])
    lock.acquire(0)

    record = HolderRecord.read(lock.record_path)
    assert record is not None
    assert (record.dut, record.pid, record.host) == ("orin-01", os.getpid(), socket.gethostname())
    assert record.command == ("pytest", "--dut", "orin-01", "-k", "a b")
    assert record.ci_job == "GITHUB_RUN_ID=991"
    assert record.user
    assert record.liveness() == "alive"
    assert "command: pytest --dut orin-01 -k 'a b'" in record.describe()


def test_release_is_idempotent_and_removes_the_record(lock_dir: Path) -> None:
    lock = DutLock("orin-01", lock_dir)
    lock.release()  # never acquired: nothing to do
    lock.acquire(0)
    lock.acquire(0)  # held already: no-op, not a self-deadlock
    lock.release()
    lock.release()
    assert not lock.held
    assert not lock.record_path.exists()
    assert lock.lock_path.exists()  # left in place: unlinking a flocked file splits waiters
    DutLock("orin-01", lock_dir).acquire(0)


def test_with_block_releases_on_an_exception(lock_dir: Path) -> None:
    lock = DutLock("orin-01", lock_dir, timeout=0)
    with pytest.raises(RuntimeError, match="boom"), lock:
        assert lock.held
        raise RuntimeError("boom")
    assert not lock.held
    with DutLock("orin-01", lock_dir) as again:
        assert again.held


def test_another_holder_in_this_process_is_named_as_such(lock_dir: Path) -> None:
    first = DutLock("orin-01", lock_dir)
    first.acquire(0)
    with pytest.raises(LockTimeout, match=rf"pid {os.getpid()} \(this process\)"):
        DutLock("orin-01", lock_dir).acquire(0.2, poll=0.05)


def test_a_holder_on_another_host_is_named_with_a_caveat(
    lock_dir: Path, foreign_flock: filelock.BaseFileLock
) -> None:
    lock = DutLock("orin-01", lock_dir)
    remote = HolderRecord(
        dut="orin-01",
        pid=4242,
        host="bench-b.example",
        user="ci",
        since="2025-01-08T01:49:37+00:00",
        command=("pytest", "--dut", "orin-01"),
        ci_job="CI_JOB_ID=5",
    )
    remote.write(lock.record_path)

    with pytest.raises(LockTimeout) as caught:
        lock.acquire(0)

    message = str(caught.value)
    assert caught.value.holder == remote
    assert "pid 4242 on host bench-b.example (user ci), since 2025-01-08T01:49:37+00:00" in message
    assert "command: pytest --dut orin-01, CI job CI_JOB_ID=5" in message
    assert "Host bench-b.example is not this host" in message
    assert "cannot be checked from here" in message


def test_a_reused_pid_or_an_earlier_boot_is_stale() -> None:
    me = HolderRecord.for_this_process("orin-01")
    assert me.liveness() == "alive"
    assert me.start_ticks is not None and me.boot_id is not None
    assert dataclasses.replace(me, start_ticks=me.start_ticks + 1).liveness() == "dead"
    assert dataclasses.replace(me, boot_id="another-boot").liveness() == "dead"


def test_an_unreadable_record_names_no_holder(
    lock_dir: Path, foreign_flock: filelock.BaseFileLock
) -> None:
    lock = DutLock("orin-01", lock_dir)
    lock.record_path.write_text("{not json")
    assert lock.holder() is None
    with pytest.raises(LockTimeout, match="left no holder record") as caught:
        lock.acquire(0)
    assert caught.value.holder is None
    foreign_flock.release()
    lock.acquire(0)
    assert lock.took_over is None
    assert lock.holder() is not None


def test_a_forked_child_cannot_release_the_parents_lock(lock_dir: Path) -> None:
    lock = DutLock("orin-01", lock_dir)
    lock.acquire(0)
    pid = os.fork()
    if pid == 0:
        lock.release()
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert lock.held
    assert lock.record_path.exists()
    with pytest.raises(LockTimeout):
        DutLock("orin-01", lock_dir).acquire(0)


@pytest.mark.parametrize("timeout", [-1.0, float("nan"), float("inf")])
def test_a_timeout_must_be_finite_and_not_negative(lock_dir: Path, timeout: float) -> None:
    with pytest.raises(ValueError, match="lock timeout"):
        DutLock("orin-01", lock_dir).acquire(timeout)


def test_an_unusable_lock_dir_is_a_bench_error(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "locks"
    not_a_dir.write_text("")
    with pytest.raises(LockError, match="lock directory") as caught:
        DutLock("orin-01", not_a_dir).acquire(0)
    assert isinstance(caught.value, BenchError)
