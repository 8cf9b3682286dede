"""The folder of a simulated host that several processes share, and who is using it.

A real bench host is one machine: every pytest-xdist worker of a run, and every session that
runs at the same time against the same bench, sees the same USB bus, the same debuggers and the
same Linux_for_Tegra trees. The simulated host is a folder they all open::

    <root>/host.lock          flock: joining, leaving and adding a DUT happen one at a time
    <root>/members/<pid>-<n>  one file per process using the host, flock-held while it lives
    <root>/sim-host/          the host itself (``duts/``, ``images/``, ``profiles/``)

A member holds an exclusive ``flock`` on its own file for as long as it uses the host; the
kernel drops that lock when the process dies, however it dies (SIGKILL included). A process
that joins a host whose members are all gone finds stale state (boards left in recovery, a half
flashed tree) and wipes ``sim-host/`` before using it; the last member to leave removes the
whole folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HOST_LOCK = "host.lock"
MEMBERS = "members"
HOST = "sim-host"
"""The sub-folder holding the host's DUTs, trees and profiles."""
_counter = itertools.count()


@contextlib.contextmanager
def host_locked(root: Path) -> Iterator[None]:
    """Hold the host's lock. The lock file may be removed by the last member leaving while we
    wait; a lock taken on a removed file guards nothing, so take it again on the new one."""
    path = root / HOST_LOCK
    while True:
        root.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:  # the folder was removed meanwhile: make it again
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                yield
                return
        finally:
            os.close(fd)


def _alive(member: Path) -> bool:
    """Whether the process that registered ``member`` still holds it."""
    try:
        fd = os.open(member, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def live_members(root: Path) -> list[Path]:
    """The members of the host that are alive; the files of dead ones are removed."""
    folder = root / MEMBERS
    alive = []
    for member in sorted(folder.iterdir()) if folder.is_dir() else ():
        if _alive(member):
            alive.append(member)
        else:
            member.unlink(missing_ok=True)
    return alive


@dataclass
class Membership:
    """This process's use of the shared host at ``root`` (:meth:`join` it, :meth:`leave` it)."""

    root: Path
    member: Path
    fd: int
    wiped_stale: bool = False
    """The host was left by members that all died: its state was wiped on joining."""

    @property
    def host_dir(self) -> Path:
        """``<root>/sim-host``: where the :class:`~pytest_jetson.sim.host.SimHost` lives."""
        return self.root / HOST

    @classmethod
    def join(cls, root: Path) -> Membership:
        """Register this process as a member; wipe the host when no member is alive."""
        root = Path(root).absolute()
        with host_locked(root):
            stale = not live_members(root) and (root / HOST).exists()
            if stale:
                shutil.rmtree(root / HOST)
            (root / MEMBERS).mkdir(exist_ok=True)
            member = root / MEMBERS / f"{os.getpid()}-{next(_counter)}"
            fd = os.open(member, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
            (root / HOST).mkdir(exist_ok=True)
        return cls(root, member, fd, wiped_stale=stale)

    def locked(self) -> contextlib.AbstractContextManager[None]:
        """The host's lock (adding a DUT, building a tree)."""
        return host_locked(self.root)

    def leave(self) -> bool:
        """Unregister; the last member removes the host folder. True when it was removed."""
        with host_locked(self.root):
            self.member.unlink(missing_ok=True)
            os.close(self.fd)
            last = not live_members(self.root)
            if last:
                shutil.rmtree(self.root, ignore_errors=True)
        return last


def sweep_stale(parent: Path, prefix: str) -> list[Path]:
    """Remove the hosts ``parent/<prefix>*`` whose members all died (sessions or workers
    killed outright leave them behind); return what was removed. A host someone uses, or is
    joining (it holds the host's lock), is left alone."""
    removed = []
    for root in sorted(Path(parent).glob(f"{prefix}*")) if Path(parent).is_dir() else ():
        if not (root / HOST_LOCK).is_file():
            continue
        with host_locked(root):
            if live_members(root):
                continue
            shutil.rmtree(root, ignore_errors=True)
            removed.append(root)
    return removed
