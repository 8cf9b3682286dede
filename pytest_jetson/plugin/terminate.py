"""SIGTERM as an orderly interrupt: a cancelled CI job ends the way Ctrl-C ends a run.

CI runners cancel a job with SIGTERM (and SIGKILL after a grace period). Dying of the signal at
once would leave the DUT half-driven, the flash outcome unrecorded and the simulator's work
folder behind. :class:`Termination` turns the first SIGTERM into :class:`Terminated`, a
``KeyboardInterrupt``: the running tool's process group is killed, the flash records
``interrupted``, teardown and the final summary run and the DUT locks are released, as after
Ctrl-C. Once all of that is done, :meth:`Termination.redeliver` ends the process with SIGTERM
after all, so the runner sees the status it expects (143 in a shell).

A second SIGTERM while that cleanup runs does not wait: it releases the locks and the process
dies of the signal at once.

Under pytest-xdist a CI runner signals the controller, which runs no step: the workers drive
the DUTs. The controller passes the SIGTERM on to its workers at once (each then ends as
above, killing its tool and recording ``interrupted``), and before dying of the signal itself
waits for them to finish that cleanup, so none is killed halfway (a lock record left behind,
a summary not written). Without that, a worker learns of the end only when the controller's
connection closes, and goes on flashing meanwhile.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from pytest_jetson.host.lock import DutLock

FORWARD_GRACE = 60.0
"""How long a controller waits for the workers it passed SIGTERM on to (their cleanup: kill
the tool, teardown, summaries, locks) before dying of the signal itself."""


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: the run ends as after Ctrl-C, then the process dies of the signal."""


class Termination:
    """The SIGTERM handler of one session; ``locks`` is read when a signal arrives."""

    def __init__(
        self,
        locks: Callable[[], Iterable[DutLock]],
        *,
        forward: Callable[[], Iterable[int]] | None = None,
        grace: float = FORWARD_GRACE,
    ) -> None:
        self._locks = locks
        self._forward = forward
        self._grace = grace
        self._forwarded: list[int] = []
        self._previous: Any = None
        self._installed = False
        self.received = False
        """Whether SIGTERM arrived (the process will die of it once cleaned up)."""

    def install(self) -> None:
        """Handle SIGTERM from now on. Does nothing off the main thread, or when SIGTERM is
        ignored (``nohup``, a parent's choice)."""
        if threading.current_thread() is not threading.main_thread():
            return
        previous = signal.getsignal(signal.SIGTERM)
        if previous == signal.SIG_IGN:
            return
        self._previous = previous
        signal.signal(signal.SIGTERM, self._handle)
        self._installed = True

    def uninstall(self) -> None:
        """Give SIGTERM back to whoever had it before (no-op when not installed)."""
        if self._installed and signal.getsignal(signal.SIGTERM) == self._handle:
            signal.signal(signal.SIGTERM, self._previous or signal.SIG_DFL)
        self._installed = False

    def redeliver(self) -> None:
        """After the session's cleanup: end the process with the SIGTERM it received."""
        self.uninstall()
        if not self.received:
            return
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        self.wait_forwarded()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received:
            self._release_all()
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.raise_signal(signal.SIGTERM)
            return
        self.received = True
        self._pass_on()
        raise Terminated(
            "SIGTERM received: stopping as after Ctrl-C (the running tool is killed, teardown "
            "and the summary run, the DUT locks are released)"
        )

    def wait_forwarded(self) -> None:
        """Wait (``grace`` at most) for the processes the SIGTERM was passed on to."""
        wait_gone(self._forwarded, self._grace)

    def _pass_on(self) -> None:
        """Send the SIGTERM on to the processes ``forward`` names (the xdist workers)."""
        if self._forward is None:
            return
        with contextlib.suppress(Exception):  # a signal handler must not fail
            for pid in self._forward():
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGTERM)
                    self._forwarded.append(pid)

    def _release_all(self) -> None:
        for lock in list(self._locks()):
            with contextlib.suppress(Exception):
                lock.release()


class ControllerWait:
    """The controller's part under xdist: once a SIGTERM was passed on to the workers, wait
    for them to end before xdist tears its workers down (xdist gives a worker 10 s, execnet
    interrupts it again after 5 s: a worker still cleaning up would be cut short)."""

    def __init__(self, termination: Termination) -> None:
        self.termination = termination

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self) -> None:
        """Before xdist's own session finish: let the workers finish their cleanup."""
        if self.termination.received:
            self.termination.wait_forwarded()


def child_pids() -> list[int]:
    """This process's live children (Linux ``/proc/self/task/*/children``): under xdist, the
    controller's children are its workers."""
    pids: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path("/proc/self/task").iterdir():
            with contextlib.suppress(OSError, ValueError):
                pids += [int(p) for p in (task / "children").read_text().split()]
    return [pid for pid in dict.fromkeys(pids) if _alive(pid)]


def wait_gone(pids: Iterable[int], timeout: float) -> None:
    """Wait until every process of ``pids`` has exited (or is a zombie), ``timeout`` at most."""
    deadline = time.monotonic() + timeout
    waiting = list(pids)
    while waiting and time.monotonic() < deadline:
        waiting = [pid for pid in waiting if _alive(pid)]
        if waiting:
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")
