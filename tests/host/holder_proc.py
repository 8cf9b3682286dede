"""A real process that holds a DUT lock: ``python holder_proc.py MODE NAME LOCK_DIR``.

Modes:
* ``dut``  — DutLock.acquire + install_signal_release; "release" on stdin releases it.
* ``with`` — ``with DutLock(...):`` around a blocking read (Ctrl-C leaves the block).
* ``runner`` — as ``dut``, then waits in runner.run on a child (whose SIGTERM handling chains).
* ``raw``  — a bare filelock on the lock file, no holder record (a foreign holder).

Prints ``locked`` once it holds the lock, then waits on stdin; EOF ends the process, so a
holder never outlives the test that started it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import filelock

from pytest_jetson.host.lock import DutLock, install_signal_release
from pytest_jetson.host.runner import run


def wait_for_commands(lock: DutLock | None) -> None:
    for line in sys.stdin:
        if line.strip() == "release" and lock is not None:
            lock.release()
            print("released", flush=True)


def main(mode: str, name: str, lock_dir: Path) -> None:
    if mode == "dut":
        lock = DutLock(name, lock_dir)
        lock.acquire(0)
        install_signal_release([lock])
        print("locked", flush=True)
        wait_for_commands(lock)
    elif mode == "runner":
        lock = DutLock(name, lock_dir)
        lock.acquire(0)
        install_signal_release([lock])

        def on_line(line: str) -> None:
            if line == "child started":
                print("locked", flush=True)

        argv = ["sh", "-c", "echo child started; exec sleep 60"]
        run(argv, cwd=lock_dir, timeout=60, what="a long child", on_line=on_line, grace=1)
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
