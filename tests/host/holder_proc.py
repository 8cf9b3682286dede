"""A real process that holds a DUT lock: ``python holder_proc.py MODE NAME LOCK_DIR``.

Modes:
* ``dut``  — DutLock.acquire and the plugin's SIGTERM handling (:class:`Termination`: SIGTERM
  interrupts, the lock is released as a session's close does, then the process dies of the
  signal); "release" on stdin releases it.
* ``with`` — ``with DutLock(...):`` around a blocking read (Ctrl-C leaves the block).
* ``runner`` — as ``dut``, then waits in runner.run on a child (whose SIGTERM handling chains).
* ``raw``  — a bare filelock on the lock file, no holder record (a foreign holder).

Prints ``locked`` once it holds the lock, then waits on stdin; EOF ends the process, so a
holder never outlives the test that started it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import filelock

from pytest_jetson.host.lock import DutLock
from pytest_jetson.host.runner import run
from pytest_jetson.plugin.terminate import Terminated, Termination


def wait_for_commands(lock: DutLock | None) -> None:
    for line in sys.stdin:
        if line.strip() == "release" and lock is not None:
            lock.release()
            print("released", flush=True)


def as_a_session(lock: DutLock, work: Callable[[], None]) -> None:
    """Run ``work`` holding ``lock`` as a pytest-jetson session does: SIGTERM interrupts it,
    the lock is released, then the process dies of the signal."""
    termination = Termination(lambda: [lock])
    termination.install()
    try:
        work()
    except Terminated:
        lock.release()
    termination.redeliver()


def main(mode: str, name: str, lock_dir: Path) -> None:
    if mode == "dut":
        lock = DutLock(name, lock_dir)
        lock.acquire(0)

        def hold() -> None:
            print("locked", flush=True)
            wait_for_commands(lock)

        as_a_session(lock, hold)
    elif mode == "runner":
        lock = DutLock(name, lock_dir)
        lock.acquire(0)

        def on_line(line: str) -> None:
            if line == "child started":
                print("locked", flush=True)

        def child() -> None:
            argv = ["sh", "-c", "echo child started; exec sleep 60"]
            run(argv, cwd=lock_dir, timeout=60, what="a long child", on_line=on_line, grace=1)

        as_a_session(lock, child)
    elif mode == "with":
        with DutLock(name, lock_dir):
            print("locked", flush=True)
            wait_for_commands(None)
    elif mode == "raw":
        raw = filelock.FileLock(DutLock(name, lock_dir).lock_path, fallback_to_soft=False)
        raw.acquire(timeout=0)
        print("locked", flush=True)
        wait_for_commands(None)
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], Path(sys.argv[3]))
