"""Real ptys for console tests: the test plays the DUT on the master side."""

from __future__ import annotations

import functools
import os
import select
import time
import tty
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers import wait_for


class PtyDut:
    """A pty whose slave is reachable through a stable symlink (like /dev/serial/by-id)."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "ttyDUT"
        self.master = -1
        self.slave = -1
        self.reappear()

    def reappear(self) -> None:
        """Create a new pty and point the stable path at it."""
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        tmp = self.path.with_suffix(".new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(os.ttyname(self.slave))
        os.replace(tmp, self.path)

    def vanish(self) -> None:
        """Unplug: the stable path disappears and the pty is torn down."""
        self.path.unlink(missing_ok=True)
        for fd in (self.master, self.slave):
            os.close(fd)
        self.master = self.slave = -1

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.master, view) :]

    def read(self, size: int, timeout: float = 5.0) -> bytes:
        """Read what the console sent, until ``size`` bytes or ``timeout``."""
        out = b""
        deadline = time.monotonic() + timeout
        while len(out) < size and time.monotonic() < deadline:
            if select.select([self.master], [], [], 0.05)[0]:
                out += os.read(self.master, 4096)
        return out

    def close(self) -> None:
        if self.master >= 0:
            self.vanish()


@pytest.fixture
def dut(tmp_path: Path) -> Iterator[PtyDut]:
    pty = PtyDut(tmp_path)
    yield pty
    pty.close()


@pytest.fixture(name="wait_for")
def wait_for_fixture() -> Callable[..., None]:
    """:func:`tests.helpers.wait_for` with the console tests' 5 s deadline."""
    return functools.partial(wait_for, timeout=5.0)
