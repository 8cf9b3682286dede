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
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any

from pytest_jetson.host.lock import DutLock


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: the run ends as after Ctrl-C, then the process dies of the signal."""


class Termination:
    """The SIGTERM handler of one session; ``locks`` is read when a signal arrives."""

    def __init__(self, locks: Callable[[], Iterable[DutLock]]) -> None:
        self._locks = locks
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
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received:
            self._release_all()
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.raise_signal(signal.SIGTERM)
            return
        self.received = True
        raise Terminated(
            "SIGTERM received: stopping as after Ctrl-C (the running tool is killed, teardown "
            "and the summary run, the DUT locks are released)"
        )

    def _release_all(self) -> None:
        for lock in list(self._locks()):
            with contextlib.suppress(Exception):
                lock.release()
