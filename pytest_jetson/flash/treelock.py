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

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pytest_jetson.host.lock import DutLock, HolderRecord, LockTimeout


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


class TreeUse:
    """Who uses a tree's built images: ``--flash-only`` runs share it, a build (or any run
    that writes the tree) takes it alone, so no image is rebuilt under a board being flashed
    from it. An ``flock`` on ``tree-<hash>.use`` in the lock folder: the kernel drops it with
    its holder, so a crashed run never blocks.
    """

    def __init__(self, lft: Path, lock_dir: Path) -> None:
        self.path = Path(lock_dir) / f"{tree_lock_name(lft)}.use"
        self._fd: int | None = None

    def take(self, *, exclusive: bool, timeout: float, what: str) -> None:
        """Take the tree shared or alone, waiting up to ``timeout`` seconds."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(self._fd, mode)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    self.release()
                    raise LockTimeout(
                        f"timed out after {timeout:g}s waiting for {what}: boards were still "
                        f"being flashed from the images in this tree (lock {self.path})",
                        dut=what,
                        lock_path=self.path,
                        holder=None,
                        timeout=timeout,
                        waited=timeout,
                    ) from None
                time.sleep(0.05)

    def share(self) -> None:
        """Turn a held exclusive use into a shared one (the build is done)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_SH)

    def release(self) -> None:
        """Let the tree go (idempotent)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


SAVED_BUILD = "tools/kernel_flash/initrdflashparam.txt"
"""What ``l4t_initrd_flash.sh --no-flash`` saves for ``--flash-only`` to read back (its
``INITRD_FLASHPARAM``, next to the tool); a ``--flash-only`` run without it fails."""


@dataclass(frozen=True)
class BuildRecord:
    """Which build the tree's images are: its key, the DUT that built them, and the saved
    flash parameters file as it was right after that build."""

    key: str
    dut: str
    saved: str = ""
    """:func:`saved_fingerprint` after the build; the record holds only while it matches."""


def build_record_path(lft: Path, lock_dir: Path) -> Path:
    """Where the tree's build record lives (next to its lock)."""
    return Path(lock_dir) / f"{tree_lock_name(lft)}.built"


def saved_fingerprint(lft: Path) -> str:
    """Identity of the tree's saved build (inode, size, modification time of
    :data:`SAVED_BUILD`); empty when there is none."""
    try:
        st = os.stat(Path(lft) / SAVED_BUILD)
    except OSError:
        return ""
    return f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


def read_build(lft: Path, lock_dir: Path) -> BuildRecord | None:
    """The tree's build record; None when there is none, it is unreadable, or the tree no
    longer holds that build (its saved parameters are gone or were rewritten: a tree
    unpacked again, cleaned, or built by hand), since ``--flash-only`` would then fail or
    flash other images."""
    try:
        data = json.loads(build_record_path(lft, lock_dir).read_text())
        record = BuildRecord(
            key=str(data["key"]), dut=str(data["dut"]), saved=str(data.get("saved", ""))
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not record.saved or record.saved != saved_fingerprint(lft):
        return None
    return record


def write_build(lft: Path, lock_dir: Path, record: BuildRecord | None) -> None:
    """Record the tree's images (None: they are no build anyone may reuse)."""
    path = build_record_path(lft, lock_dir)
    if record is None:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"key": record.key, "dut": record.dut, "saved": record.saved}))
    tmp.replace(path)
