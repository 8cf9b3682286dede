"""A session's private temporary folder, and reclaiming the folders of sessions that died.

Each session works in ``$TMPDIR/pytest-jetson-XXXXXXXX`` (the simulated bench lives there) and
removes it when it ends. A session killed with SIGKILL cannot: its folder stays. So the folder
holds a kernel ``flock`` on its ``.owner.lock`` for the session's lifetime. The kernel drops a
flock when its holder dies, however it dies, so a later session that can take the lock of such
a folder knows its owner is gone and removes the folder; a folder whose lock is held belongs to
a live session and is left alone, and so is anything without that file (another program's
folder, the default lock folder ``pytest-jetson-locks``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from pathlib import Path

PREFIX = "pytest-jetson-"
OWNER_LOCK = ".owner.lock"


class SessionFolder:
    """The private folder of this session, with its owner lock held until :meth:`remove`."""

    def __init__(self, parent: Path | None = None) -> None:
        base = Path(parent) if parent is not None else Path(tempfile.gettempdir())
        self.reclaimed = reclaim_stale(base)
        """The folders of dead sessions removed when this one was made."""
        self.path = Path(tempfile.mkdtemp(prefix=PREFIX, dir=base))
        # Locked under another name, then renamed: a scanner never finds it unlocked.
        staging = self.path / f"{OWNER_LOCK}.new"
        self._fd: int | None = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.rename(staging, self.path / OWNER_LOCK)

    def remove(self) -> None:
        """Remove the folder and drop its lock (idempotent)."""
        shutil.rmtree(self.path, ignore_errors=True)
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


def reclaim_stale(base: Path) -> list[Path]:
    """Remove every ``pytest-jetson-*`` folder in ``base`` whose owner session is dead (its
    ``.owner.lock`` can be taken); return the folders removed."""
    removed: list[Path] = []
    with contextlib.suppress(OSError):
        for folder in base.glob(f"{PREFIX}*"):
            if _owner_dead(folder / OWNER_LOCK):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    return removed


def _owner_dead(lock: Path) -> bool:
    try:
        fd = os.open(lock, os.O_WRONLY | os.O_NOFOLLOW)
    except OSError:  # no such file (not ours, or an older version's), or not ours to open
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # held: its session is alive
    finally:
        os.close(fd)  # closing drops the lock we may have taken
    return True


__all__ = ["OWNER_LOCK", "PREFIX", "SessionFolder", "reclaim_stale"]
