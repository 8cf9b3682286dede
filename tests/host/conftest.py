"""Real holder processes for the DUT lock tests."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

HOLDER = Path(__file__).with_name("holder_proc.py")


class Holder:
    """A holder_proc.py process that has printed "locked"."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.pid = proc.pid

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def expect(self, wanted: str, within: float = 10.0) -> None:
        """Wait for the line ``wanted`` on the holder's stdout."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + within
        seen: list[str] = []
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], deadline - time.monotonic())
            if not ready:
                break
            line = self.proc.stdout.readline()
            if not line:
                break
            seen.append(line.rstrip("\n"))
            if seen[-1] == wanted:
                return
        self.proc.kill()
        _, err = self.proc.communicate(timeout=10)
        pytest.fail(
            f"holder pid {self.pid} never printed {wanted!r} in {within} s; "
            f"stdout {seen!r}; stderr:\n{err}"
        )

    def wait(self, within: float = 10.0) -> int:
        return self.proc.wait(timeout=within)


@pytest.fixture
def lock_dir(tmp_path: Path) -> Path:
    return tmp_path / "locks"


@pytest.fixture
def start_holder(lock_dir: Path) -> Iterator[object]:
    started: list[Holder] = []

    def start(mode: str, name: str, *, env: dict[str, str] | None = None) -> Holder:
        proc = subprocess.Popen(
            [sys.executable, str(HOLDER), mode, name, str(lock_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
        holder = Holder(proc)
        started.append(holder)
        holder.expect("locked")
        return holder

    yield start
    for holder in started:
        if holder.proc.poll() is None:
            holder.proc.kill()
        holder.proc.communicate(timeout=10)
