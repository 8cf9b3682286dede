"""Exclusive DUT locks: one pytest session at a time drives a given board.

A :class:`DutLock` is a kernel ``flock`` on ``<lock_dir>/<dut>.lock`` (through :mod:`filelock`,
never its soft-lock fallback) plus a holder record, ``<lock_dir>/<dut>.holder.json``, that says
who holds it: pid, host, user, since when, the command line and the CI job. A session that
asks for a held DUT waits up to its timeout and then raises :class:`LockTimeout` naming the
holder.

The flock is the truth; the record only describes it. The kernel drops a flock when its
holder dies, however it dies, so a crashed session never blocks the next one. A record left
behind by a dead process (same host, pid gone, a zombie, a reused pid or an earlier boot) is
recognised as stale and never reported as the holder; the next holder overwrites it.

How the plugin uses it:

* acquire each DUT's lock at first use, keep the :class:`DutLock` in the session state and call
  :meth:`DutLock.release` from ``pytest_unconfigure`` (normal end, failures, and Ctrl-C, which
  pytest turns into ``KeyboardInterrupt`` and still unconfigures);
* SIGTERM: the plugin turns it into an interrupt (:mod:`pytest_jetson.plugin.terminate`), so
  the locks are released by the same path as after Ctrl-C;
* pass a redacted ``command`` when the command line may carry a secret.

A lock is bound to the process that took it: a forked child (``os.fork``, multiprocessing's
fork start method) inherits the open lock file and keeps the flock alive until it exits, but
its :meth:`~DutLock.release` does nothing. pytest-xdist workers are started with exec and
inherit nothing.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import math
import os
import re
import shlex
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import filelock

from pytest_jetson.errors import BenchError

DEFAULT_LOCK_DIR = Path("/tmp/pytest-jetson-locks")
"""Where locks live when neither the bench inventory nor the ini file says otherwise.

A fixed path, so that every session on the host agrees; a bench shared by several users or
runners should name a directory they all can write.
"""

DIR_MODE = 0o775
FILE_MODE = 0o664
CI_JOB_VARIABLES = ("CI_JOB_ID", "GITHUB_RUN_ID", "BUILD_TAG")
"""Environment variables that identify a CI job (GitLab, GitHub Actions, Jenkins), in order."""

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_UNSAFE_CHAR = re.compile(r"[^A-Za-z0-9._-]")

Liveness = Literal["alive", "dead", "unknown"]


class LockError(BenchError):
    """A DUT lock could not be taken (the lock directory is unusable, or the DUT is held)."""


class LockTimeout(LockError):
    """The DUT stayed locked by another session for the whole timeout.

    ``holder`` is the live holder's record, or ``None`` when no valid record names it;
    ``waited`` is how long this session waited, in seconds.
    """

    def __init__(
        self,
        message: str,
        *,
        dut: str,
        lock_path: Path,
        holder: HolderRecord | None,
        timeout: float,
        waited: float,
    ) -> None:
        super().__init__(message)
        self.dut = dut
        self.lock_path = lock_path
        self.holder = holder
        self.timeout = timeout
        self.waited = waited


@dataclass(frozen=True)
class HolderRecord:
    """Who holds a DUT lock, as written next to the lock file by the holder."""

    dut: str
    pid: int
    host: str
    user: str
    since: str
    """Local time with UTC offset, ISO 8601, seconds precision."""
    command: tuple[str, ...]
    ci_job: str | None = None
    """``NAME=value`` of the first CI job variable set, e.g. ``CI_JOB_ID=4242``."""
    boot_id: str | None = None
    start_ticks: int | None = None
    """The process start time in clock ticks since boot, which tells a reused pid apart."""

    @classmethod
    def for_this_process(cls, dut: str, command: Sequence[str] | None = None) -> HolderRecord:
        """The record this process writes when it takes ``dut``'s lock."""
        pid = os.getpid()
        stat = _proc_stat(pid)
        return cls(
            dut=dut,
            pid=pid,
            host=socket.gethostname(),
            user=_user_name(),
            since=datetime.now().astimezone().isoformat(timespec="seconds"),
            command=tuple(sys.orig_argv if command is None else command),
            ci_job=_ci_job(),
            boot_id=_boot_id(),
            start_ticks=None if stat is None else stat[1],
        )

    @classmethod
    def from_json(cls, text: str) -> HolderRecord | None:
        """Parse a record; ``None`` when the text is not a valid record."""
        try:
            data = json.loads(text)
            return cls(
                dut=str(data["dut"]),
                pid=int(data["pid"]),
                host=str(data["host"]),
                user=str(data["user"]),
                since=str(data["since"]),
                command=tuple(str(arg) for arg in data["command"]),
                ci_job=_optional_str(data.get("ci_job")),
                boot_id=_optional_str(data.get("boot_id")),
                start_ticks=_optional_int(data.get("start_ticks")),
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            return None

    @classmethod
    def read(cls, path: Path) -> HolderRecord | None:
        """The record at ``path``; ``None`` when it is missing or unreadable."""
        try:
            return cls.from_json(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            return None

    def to_json(self) -> str:
        """The record as JSON (one object, ``command`` as a list)."""
        data: dict[str, Any] = asdict(self)
        data["command"] = list(self.command)
        return json.dumps(data, indent=2) + "\n"

    def write(self, path: Path) -> None:
        """Write the record atomically (a reader sees the old record or the new one)."""
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        try:
            with contextlib.suppress(OSError):
                os.fchmod(fd, FILE_MODE)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(self.to_json())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise

    def is_local(self) -> bool:
        """Whether the holder ran on this host, so its pid can be checked."""
        return self.host == socket.gethostname()

    def liveness(self) -> Liveness:
        """``alive`` or ``dead`` for a holder on this host, ``unknown`` for another host."""
        if not self.is_local():
            return "unknown"
        current_boot = _boot_id()
        if self.boot_id and current_boot and self.boot_id != current_boot:
            return "dead"
        return "alive" if _pid_alive(self.pid, self.start_ticks) else "dead"

    def describe(self, *, now: datetime | None = None) -> str:
        """One line naming the holder: pid, host, user, since when, command, CI job."""
        where = f"pid {self.pid}"
        if self.is_local() and self.pid == os.getpid():
            where += " (this process)"
        parts = [f"{where} on host {self.host} (user {self.user})"]
        parts.append(f"since {self.since}{_age(self.since, now)}")
        parts.append(f"command: {_show_command(self.command)}")
        if self.ci_job:
            parts.append(f"CI job {self.ci_job}")
        return ", ".join(parts)


class DutLock:
    """The exclusive lock on one DUT, shared by every session that uses ``lock_dir``.

    ``command`` is what the holder record shows as the holder's command line (default: this
    process's own, :data:`sys.orig_argv`). ``with lock:`` acquires with ``timeout`` and releases
    on any exit, KeyboardInterrupt included. The lock is not counted: :meth:`acquire` on a held
    lock does nothing and one :meth:`release` frees it. :meth:`release` is idempotent and safe
    in a ``finally`` or a signal handler.
    """

    def __init__(
        self,
        name: str,
        lock_dir: Path,
        *,
        command: Sequence[str] | None = None,
        timeout: float = 0.0,
    ) -> None:
        self.name = name
        self.timeout = timeout
        """How long ``with lock:`` waits for the lock."""
        self.lock_dir = Path(lock_dir)
        stem = lock_file_stem(name)
        self.lock_path = self.lock_dir / f"{stem}.lock"
        self.record_path = self.lock_dir / f"{stem}.holder.json"
        self.command: tuple[str, ...] | None = None if command is None else tuple(command)
        self.took_over: HolderRecord | None = None
        """A stale record found when the lock was taken: a session that died holding it."""
        self._file_lock: filelock.BaseFileLock | None = None
        self._owner_pid = 0

    @property
    def held(self) -> bool:
        """Whether this process holds the lock through this object."""
        return self._file_lock is not None and self._owner_pid == os.getpid()

    def holder(self) -> HolderRecord | None:
        """The current holder's record: ``None`` when none is written or it is stale."""
        record = HolderRecord.read(self.record_path)
        if record is None or record.liveness() == "dead":
            return None
        return record

    def acquire(
        self,
        timeout: float,
        poll: float = 0.1,
        *,
        on_wait: Callable[[HolderRecord | None], None] | None = None,
    ) -> None:
        """Take the lock, waiting up to ``timeout`` seconds (0: one attempt).

        ``on_wait`` is called once, with the holder's record, when the lock is found held and
        the wait begins (e.g. to print "waiting for orin-01, held by ...").

        :raises LockTimeout: the lock stayed held for ``timeout`` seconds.
        :raises LockError: the lock directory cannot be created or written.
        """
        if math.isnan(timeout) or timeout < 0 or math.isinf(timeout):
            raise ValueError(f"lock timeout must be a finite number >= 0, got {timeout!r}")
        if poll <= 0:
            raise ValueError(f"lock poll interval must be > 0, got {poll!r}")
        if self.held:
            return
        self._ensure_dir()
        file_lock = filelock.FileLock(
            self.lock_path,
            mode=FILE_MODE,
            thread_local=False,
            fallback_to_soft=False,
        )
        start = time.monotonic()
        try:
            self._take(file_lock, 0, poll)
        except filelock.Timeout:
            if timeout == 0:
                raise self._timeout_error(timeout, time.monotonic() - start) from None
            if on_wait is not None:
                on_wait(self.holder())
            remaining = max(0.0, timeout - (time.monotonic() - start))
            try:
                self._take(file_lock, remaining, poll)
            except filelock.Timeout:
                raise self._timeout_error(timeout, time.monotonic() - start) from None
        self._file_lock = file_lock
        self._owner_pid = os.getpid()
        try:
            self._write_record()
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        """Drop the lock and remove the holder record; does nothing when not held."""
        file_lock, self._file_lock = self._file_lock, None
        if file_lock is None or self._owner_pid != os.getpid():
            return
        with contextlib.suppress(OSError):
            self.record_path.unlink()
        with contextlib.suppress(OSError, RuntimeError):
            file_lock.release(force=True)

    def __enter__(self) -> Self:
        self.acquire(self.timeout)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        state = "held" if self.held else "free"
        return f"DutLock({self.name!r}, {str(self.lock_dir)!r}, {state})"

    def _take(self, file_lock: filelock.BaseFileLock, timeout: float, poll: float) -> None:
        try:
            file_lock.acquire(timeout=timeout, poll_interval=poll, blocking=timeout > 0)
        except filelock.Timeout:
            raise  # a TimeoutError, hence an OSError: not a lock directory problem
        except OSError as error:
            raise LockError(
                f"cannot lock DUT {self.name!r} at {self.lock_path}: {error}"
            ) from error

    def _ensure_dir(self) -> None:
        try:
            self.lock_dir.parent.mkdir(parents=True, exist_ok=True)
            try:
                self.lock_dir.mkdir(mode=DIR_MODE)
            except FileExistsError:
                pass
            else:
                os.chmod(self.lock_dir, DIR_MODE)  # mkdir's mode is filtered by the umask
        except OSError as error:
            raise LockError(
                f"cannot create the DUT lock directory {self.lock_dir}: {error}"
            ) from error
        if not self.lock_dir.is_dir():
            raise LockError(f"the DUT lock directory {self.lock_dir} is not a directory")

    def _write_record(self) -> None:
        previous = HolderRecord.read(self.record_path)
        self.took_over = previous if previous is not None and previous.pid != os.getpid() else None
        record = HolderRecord.for_this_process(self.name, self.command)
        try:
            record.write(self.record_path)
        except OSError as error:
            raise LockError(
                f"locked DUT {self.name!r} but cannot write its holder record "
                f"{self.record_path}: {error}"
            ) from error

    def _timeout_error(self, timeout: float, waited: float) -> LockTimeout:
        record = HolderRecord.read(self.record_path)
        liveness = None if record is None else record.liveness()
        holder = record if liveness in ("alive", "unknown") else None
        head = f"DUT {self.name!r} is locked by another session"
        if record is not None and holder is not None:
            text = f"{head}: {record.describe()}"
            if liveness == "unknown":
                text += (
                    f". Host {record.host} is not this host ({socket.gethostname()}), so whether"
                    f" pid {record.pid} is still running cannot be checked from here"
                )
        else:
            text = f"{head}, which left no holder record"
            kernel_pid = _flock_holder_pid(self.lock_path)
            if kernel_pid is not None:
                text += f": the kernel names pid {kernel_pid}"
                command = _proc_cmdline(kernel_pid)
                if command:
                    text += f" (command: {_show_command(command)})"
            if record is not None:
                text += (
                    f". The record {self.record_path} names pid {record.pid} on this host, which"
                    " is no longer running: it is stale, left by a session that died"
                )
        text += (
            f". Waited {waited:.1f} s (timeout {timeout:g} s) for {self.lock_path}; the lock is"
            " freed when its holder ends (a crashed holder frees it at once)."
        )
        return LockTimeout(
            text,
            dut=self.name,
            lock_path=self.lock_path,
            holder=holder,
            timeout=timeout,
            waited=waited,
        )


def lock_file_stem(name: str) -> str:
    """The file name stem for DUT ``name``: the name itself when it is a safe file name,
    else its safe characters plus a digest of the name, so distinct names never collide."""
    if _SAFE_NAME.fullmatch(name):
        return name
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    cleaned = _UNSAFE_CHAR.sub("_", name).lstrip("._-")[:40]
    return f"{cleaned}-{digest}" if cleaned else f"dut-{digest}"


def _show_command(command: Sequence[str], limit: int = 300) -> str:
    text = shlex.join(command) if command else "(unknown)"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _age(since: str, now: datetime | None) -> str:
    try:
        start = datetime.fromisoformat(since)
    except ValueError:
        return ""
    if start.tzinfo is None:
        return ""
    seconds = int(((now or datetime.now().astimezone()) - start).total_seconds())
    if seconds < 0:
        return ""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f" ({hours} h {minutes} min ago)"
    if minutes:
        return f" ({minutes} min {secs} s ago)"
    return f" ({secs} s ago)"


def _user_name() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return f"uid {os.getuid()}"


def _ci_job() -> str | None:
    for variable in CI_JOB_VARIABLES:
        value = os.environ.get(variable)
        if value:
            return f"{variable}={value}"
    return None


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, start time in ticks) of ``pid`` from /proc, ``None`` when unavailable."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
        fields = text.rsplit(")", 1)[1].split()
        return fields[0], int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def _pid_alive(pid: int, start_ticks: int | None) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    stat = _proc_stat(pid)
    if stat is None:
        return not Path("/proc/self/stat").exists()  # no /proc: trust kill(pid, 0)
    state, ticks = stat
    if state in ("Z", "X"):  # exited, not yet reaped: its locks are already gone
        return False
    return start_ticks is None or ticks == start_ticks


def _proc_cmdline(pid: int) -> tuple[str, ...]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ()
    return tuple(arg.decode(errors="replace") for arg in raw.split(b"\0") if arg)


def _flock_holder_pid(path: Path) -> int | None:
    """The pid the kernel names as holding a flock on ``path`` (Linux /proc/locks)."""
    try:
        info = os.stat(path)
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    wanted = (os.major(info.st_dev), os.minor(info.st_dev), info.st_ino)
    for line in lines:
        fields = line.split()
        if len(fields) < 6 or fields[1] != "FLOCK":  # "->" marks a waiter, not a holder
            continue
        try:
            major, minor, inode = fields[5].split(":")
            if (int(major, 16), int(minor, 16), int(inode)) == wanted:
                return int(fields[4])
        except ValueError:
            continue
    return None


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def _optional_int(value: object) -> int | None:
    return None if value is None else int(str(value))


__all__ = [
    "CI_JOB_VARIABLES",
    "DEFAULT_LOCK_DIR",
    "DutLock",
    "HolderRecord",
    "LockError",
    "LockTimeout",
    "lock_file_stem",
]
