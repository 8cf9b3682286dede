"""One flow-tool run per Linux_for_Tegra tree at a time.

flash.sh builds ``bootloader/system.img``, ``bootloader/flashcmd.txt`` and the signed files in
place inside the tree, and ``l4t_initrd_flash.sh`` generates its images under
``tools/kernel_flash/``: two runs in one tree at once (two DUTs of one profile under xdist, or
two sessions) overwrite each other's files. :func:`hold_tree` takes an exclusive lock named
after the tree's real path in the bench's lock folder, so every worker and session on the host
sees it; it is a :class:`~pytest_jetson.host.lock.DutLock`, so a crashed holder never blocks and
a waiter is told who holds it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pytest_jetson.host.lock import DutLock, HolderRecord


@dataclass(frozen=True)
class TreeWait:
    """What taking a tree's lock cost: the summary shows it."""

    tree: str
    lock: str
    waited_s: float
    held_by: str | None
    """Who held the tree when the wait began (None: it was free)."""


def tree_lock_name(lft: Path) -> str:
    """The lock name of a tree: ``tree-<hash of its real path>``."""
    digest = hashlib.sha256(str(Path(lft).resolve()).encode()).hexdigest()[:16]
    return f"tree-{digest}"


def hold_tree(
    lft: Path,
    lock_dir: Path,
    *,
    timeout: float,
    on_wait: Callable[[str], None] | None = None,
) -> tuple[DutLock, TreeWait]:
    """Take the tree's lock, waiting up to ``timeout`` seconds (the flash deadline).

    Returns the held lock (release it when the flow tool ended) and the wait. Raises
    :class:`~pytest_jetson.host.lock.LockTimeout` naming the holder when the tree stayed busy.
    """
    lock = DutLock(tree_lock_name(lft), lock_dir)
    held_by: list[str] = []

    def waiting(holder: HolderRecord | None) -> None:
        who = holder.describe() if holder is not None else "another flash"
        held_by.append(who)
        if on_wait is not None:
            on_wait(f"the tree {lft} is being flashed by {who}; waiting up to {timeout:g}s")

    start = time.monotonic()
    lock.acquire(timeout, poll=0.05, on_wait=waiting)
    wait = TreeWait(
        tree=str(lft),
        lock=str(lock.lock_path),
        waited_s=round(time.monotonic() - start, 3),
        held_by=held_by[0] if held_by else None,
    )
    return lock, wait
