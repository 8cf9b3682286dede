"""Commit units: write files into a git work tree, stage, re-grep, gate, commit — or roll back.

A unit is all-or-nothing. On any error before its commit, every file it touched is restored
(index and work tree) and directories it created are removed, so no partial commit and no stray
file is left. On a cancel from the gate the index is left staged, as the procedure asks.
GitPython is imported lazily: the plugin imports this package at startup.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Literal

from pytest_jetson.carrier.decision import CommitGate
from pytest_jetson.carrier.errors import CommitCancelled, DeriveFailed, VerificationMiss
from pytest_jetson.carrier.record import CommitRecord

if TYPE_CHECKING:
    import git

_FALLBACK_IDENTITY = ("pytest-jetson derive-carrier", "derive-carrier@localhost")


class GitRepo:
    """A git work tree, through GitPython, with the few queries the derivation needs."""

    def __init__(self, path: Path) -> None:
        import git

        self.path = path
        self.repo: git.Repo = git.Repo(path)

    def run(self, *args: str) -> str:
        """``git <args>`` in this work tree; returns stdout."""
        result: str = self.repo.git.execute(["git", *args])
        return result

    def tracked(self, paths: Iterable[str]) -> set[str]:
        """Which of ``paths`` are in the index (tracked or staged)."""
        wanted = list(paths)
        if not wanted:
            return set()
        out = self.run("ls-files", "-z", "--", *wanted)
        return {p for p in out.split("\0") if p}

    def committed(self, paths: Iterable[str]) -> set[str]:
        """Which of ``paths`` exist in HEAD."""
        wanted = list(paths)
        if not wanted or not self.has_head():
            return set()
        out = self.run("ls-tree", "-r", "-z", "--name-only", "HEAD", "--", *wanted)
        return {p for p in out.split("\0") if p}

    def has_head(self) -> bool:
        """False on an unborn branch."""
        try:
            self.repo.head.commit  # noqa: B018
        except ValueError:
            return False
        return True

    def staged(self) -> list[str]:
        """Paths staged in the index (differing from HEAD)."""
        out = self.run("diff", "--cached", "--name-only", "-z")
        return [p for p in out.split("\0") if p]

    def modified(self, paths: Iterable[str]) -> list[str]:
        """Tracked ``paths`` whose work-tree content differs from the index."""
        wanted = list(paths)
        if not wanted:
            return []
        out = self.run("diff", "--name-only", "-z", "--", *wanted)
        return [p for p in out.split("\0") if p]

    def head_text(self, rel: str) -> str:
        """The committed text of ``rel`` at HEAD."""
        return self.run("show", f"HEAD:{rel}")

    def commit(self, message: str) -> str:
        """Commit the index with ``message``; returns the new SHA."""
        args: list[str] = []
        reader = self.repo.config_reader()
        if not reader.get_value("user", "email", "") or not reader.get_value("user", "name", ""):
            name, email = _FALLBACK_IDENTITY
            args = ["-c", f"user.name={name}", "-c", f"user.email={email}"]
        self.run(*args, "commit", "-q", "--no-verify", "-m", message)
        sha: str = self.repo.head.commit.hexsha
        return sha

    def branch(self) -> str | None:
        """The checked-out branch, None when HEAD is detached."""
        try:
            return str(self.repo.active_branch.name)
        except TypeError:
            return None

    def has_origin(self) -> bool:
        """Whether the repository has a remote called ``origin``."""
        return any(r.name == "origin" for r in self.repo.remotes)

    def on_origin(self, branch: str) -> bool:
        """Whether ``origin/<branch>`` already contains HEAD."""
        try:
            self.run("merge-base", "--is-ancestor", "HEAD", f"refs/remotes/origin/{branch}")
        except Exception:
            return False
        return True

    def push(self, branch: str) -> None:
        """Push HEAD to ``origin/<branch>``."""
        self.run("push", "-q", "origin", f"HEAD:refs/heads/{branch}")


@dataclass(frozen=True)
class _Snapshot:
    kind: Literal["absent", "file", "link"]
    data: bytes = b""
    link: str = ""
    mode: int = 0o644


class CommitUnit:
    """One commit's worth of edits in one repository. Use as a context manager."""

    def __init__(
        self,
        repo: GitRepo,
        role: Literal["overlay-tracker", "hardware"],
        *,
        rows_done: list[str],
        forbidden: Iterable[str] = (),
    ) -> None:
        self.repo = repo
        self.role = role
        self.rows_done = rows_done
        self.forbidden = set(forbidden)
        self.rows: list[str] = []
        self._snapshots: dict[str, _Snapshot] = {}
        self._created_dirs: list[Path] = []
        self._expected: list[tuple[str, str, str]] = []
        self._staged = False

    # --- writing --------------------------------------------------------------------------

    def _prepare(self, rel: str) -> Path:
        path = self.repo.path / rel
        if rel not in self._snapshots:
            if path.is_symlink():
                self._snapshots[rel] = _Snapshot("link", link=os.readlink(path))
            elif path.is_file():
                self._snapshots[rel] = _Snapshot(
                    "file", path.read_bytes(), mode=path.stat().st_mode & 0o777
                )
            else:
                self._snapshots[rel] = _Snapshot("absent")
        missing = []
        parent = path.parent
        while not parent.exists():
            missing.append(parent)
            parent = parent.parent
        for folder in reversed(missing):
            folder.mkdir()
            self._created_dirs.append(folder)
        return path

    def write(self, rel: str, data: bytes | str, *, mode: int | None = None) -> None:
        """Write ``rel`` (relative to the work tree)."""
        path = self._prepare(rel)
        if path.is_symlink():
            path.unlink()
        payload = data.encode("utf-8") if isinstance(data, str) else data
        path.write_bytes(payload)
        if mode is not None:
            path.chmod(mode)

    def symlink(self, rel: str, target: str) -> None:
        """Create (or replace) the symlink ``rel`` → ``target``."""
        path = self._prepare(rel)
        if path.is_symlink() or path.exists():
            path.unlink()
        path.symlink_to(target)

    def expect(self, rel: str, needle: str, what: str) -> None:
        """Re-grep ``rel`` for ``needle`` after writing; a miss refuses the commit."""
        self._expected.append((rel, needle, what))

    @property
    def paths(self) -> list[str]:
        """Every path this unit touched."""
        return list(self._snapshots)

    # --- verify, gate, commit -------------------------------------------------------------

    def verify(self) -> None:
        """Re-read every written file and check each expected string is there."""
        misses = [
            f"{rel}: missing after writing it"
            for rel, snap in self._snapshots.items()
            if not (self.repo.path / rel).is_symlink() and not (self.repo.path / rel).is_file()
        ]
        for rel, needle, what in self._expected:
            path = self.repo.path / rel
            if path.is_symlink():
                text = os.readlink(path)
            elif path.is_file():
                text = path.read_text(encoding="utf-8", errors="replace")
            else:
                text = ""
            if needle not in text:
                misses.append(f"{rel}: {what}: {needle!r} not found after the edit")
        if misses:
            raise VerificationMiss(
                "edit verification failed; nothing was committed:\n  " + "\n  ".join(misses),
                rows_done=self.rows_done,
            )

    def commit(self, gate: CommitGate, message: str) -> CommitRecord | None:
        """Stage, verify, pass the gate and commit. None when nothing changed."""
        self.verify()
        paths = self.paths
        if not paths:
            return None
        self.repo.run("add", "-A", "--", *paths)
        self._staged = True
        staged = self.repo.staged()
        bad = sorted(self.forbidden.intersection(staged))
        if bad:
            raise VerificationMiss(
                "reference-named files would be staged (never allowed): " + ", ".join(bad),
                rows_done=self.rows_done,
            )
        if not staged:
            return None
        decision = gate(self.repo.path, tuple(staged), message)
        if decision.kind == "cancel":
            self._snapshots.clear()
            self._created_dirs.clear()
            raise CommitCancelled(self.repo.path, staged, message, rows_done=self.rows_done)
        final = decision.message if decision.kind == "edit" and decision.message else message
        sha = self.repo.commit(final)
        self._snapshots.clear()
        self._created_dirs.clear()
        self.rows_done.extend(self.rows)
        return CommitRecord(self.repo.path, self.role, sha, final, tuple(staged), tuple(self.rows))

    def rollback(self) -> None:
        """Restore the index and work tree of every touched path; remove created dirs."""
        paths = list(self._snapshots)
        if paths and self._staged:
            if self.repo.has_head():
                self.repo.run("reset", "-q", "HEAD", "--", *paths)
            else:
                self.repo.run("rm", "-q", "--cached", "--ignore-unmatch", "--", *paths)
        for rel, snap in self._snapshots.items():
            path = self.repo.path / rel
            if path.is_symlink() or path.is_file():
                path.unlink()
            if snap.kind == "file":
                path.write_bytes(snap.data)
                path.chmod(snap.mode)
            elif snap.kind == "link":
                path.symlink_to(snap.link)
        for folder in reversed(self._created_dirs):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        self._snapshots.clear()
        self._created_dirs.clear()

    def __enter__(self) -> CommitUnit:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None or isinstance(exc, CommitCancelled):
            return
        self.rollback()
        if not isinstance(exc, DeriveFailed) and isinstance(exc, Exception):
            raise DeriveFailed(
                f"{self.role} unit failed while writing {', '.join(self.rows) or 'files'}: "
                f"{type(exc).__name__}: {exc}; its files were restored, nothing was committed",
                rows_done=self.rows_done,
            ) from exc
