"""SIGTERM handling of a session (the signal's effect on locks across processes is in
tests/lock/test_processes.py, whose holders use this handler)."""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType

import pytest

from pytest_jetson.host.lock import DutLock
from pytest_jetson.plugin.terminate import Terminated, Termination


def test_sigterm_interrupts_then_uninstall_gives_the_previous_handler_back(
    tmp_path: Path,
) -> None:
    calls: list[int] = []

    def previous(signum: int, frame: FrameType | None) -> None:
        calls.append(signum)

    locks: list[DutLock] = []
    old = signal.signal(signal.SIGTERM, previous)
    try:
        termination = Termination(lambda: locks)
        termination.install()
        lock = DutLock("orin-01", tmp_path)
        lock.acquire(0)
        locks.append(lock)  # read when the signal arrives, not at install time

        with pytest.raises(Terminated):
            signal.raise_signal(signal.SIGTERM)

        assert termination.received and calls == []
        assert lock.held, "the session's close releases the lock, as after Ctrl-C"
        termination.uninstall()
        assert signal.getsignal(signal.SIGTERM) is previous
        lock.release()
        assert not lock.record_path.exists()
    finally:
        signal.signal(signal.SIGTERM, old)


def test_an_ignored_signal_stays_ignored(tmp_path: Path) -> None:
    old = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        lock = DutLock("orin-01", tmp_path)
        lock.acquire(0)
        termination = Termination(lambda: [lock])
        termination.install()
        signal.raise_signal(signal.SIGTERM)
        assert lock.held and not termination.received
        termination.uninstall()
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
        lock.release()
    finally:
        signal.signal(signal.SIGTERM, old)
