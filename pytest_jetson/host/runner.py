"""Run a bench tool: argv only, a deadline, the whole process group killed, output streamed.

Every external tool pytest-jetson drives (boardctl, nvautoflash.sh, flash.sh, ...) goes through
:func:`run`. The child starts in a new session, so a deadline, a Ctrl-C or a SIGTERM sent to
pytest kills the tool *and everything it spawned*; nothing is left behind. Output (stdout and
stderr merged) is streamed line by line to a log file and to a callback, with secrets scrubbed.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import shlex
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO

from pytest_jetson.errors import BenchError, DeadlineExceeded, clip
from pytest_jetson.host.command import Command
from pytest_jetson.host.redact import Redactor

TAIL_LINES = 20
"""How many of the last output lines an error message quotes."""

_DRAIN_AFTER_EXIT = 1.0
"""Seconds to keep reading after the child exited while a grandchild still holds the pipe."""

_SUDO_REFUSALS = ("a password is required", "a terminal is required")
_SUDO_NO_SETENV = "you are not allowed to set the following environment variables"
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


@dataclass(frozen=True)
class RunResult:
    """What one tool run did. ``argv`` and ``output`` are already scrubbed of secrets."""

    argv: tuple[str, ...]
    returncode: int
    output: str
    duration: float
    log_path: Path | None

    @property
    def ok(self) -> bool:
        """True when the tool exited 0."""
        return self.returncode == 0

    @property
    def lines(self) -> list[str]:
        """The output, one entry per line."""
        return self.output.splitlines()

    def tail(self, n: int = TAIL_LINES) -> str:
        """The last ``n`` output lines, joined."""
        return "\n".join(clip(line) for line in self.lines[-n:])

    @property
    def command(self) -> str:
        """The (scrubbed) command line as a shell would show it."""
        return shlex.join(self.argv)


def privileged_argv(
    argv: Sequence[str],
    *,
    sudo: bool,
    euid: int | None = None,
    assign: Mapping[str, str] | None = None,
) -> list[str]:
    """``argv`` prefixed with ``sudo -n`` when ``sudo`` is asked for and we are not root.

    ``-n`` makes sudo fail at once instead of prompting for a password that nobody types.
    ``assign`` (variables for the tool) goes to sudo as ``NAME=value`` before the command, the
    form NVIDIA documents (``sudo BOARDSKU=0000 ./flash.sh``), since sudo resets the
    environment; without sudo the caller sets them in the child's environment instead.
    """
    uid = os.geteuid() if euid is None else euid
    if sudo and uid != 0:
        return ["sudo", "-n", *assignments(assign), *argv]
    return list(argv)


def assignments(assign: Mapping[str, str] | None) -> list[str]:
    """``NAME=value`` words for ``assign``; a name that is not a variable name is refused."""
    words = []
    for name, value in (assign or {}).items():
        if not name.isidentifier():
            raise ValueError(f"not an environment variable name: {name!r}")
        words.append(f"{name}={value}")
    return words


def _tool_of(sudo_argv: Sequence[str]) -> str:
    """The tool's command line in ``sudo -n [NAME=value...] tool ...`` (what sudoers names)."""
    words = list(sudo_argv[2:])
    while words and _ASSIGNMENT.match(words[0]):
        words.pop(0)
    return shlex.join(words)


def _sudo_setenv_refusal(argv: Sequence[str], returncode: int, output: str) -> str | None:
    """sudo's own line when it refused the ``NAME=value`` variables it was given."""
    if not argv or Path(argv[0]).name != "sudo" or returncode == 0:
        return None
    return next((line.strip() for line in output.splitlines() if _SUDO_NO_SETENV in line), None)


def sudo_refused(argv: Sequence[str], returncode: int, output: str) -> bool:
    """Whether a ``sudo -n`` run failed because sudo wanted a password (or a terminal)."""
    if not argv or Path(argv[0]).name != "sudo" or returncode == 0:
        return False
    return any(marker in output for marker in _SUDO_REFUSALS)


def run(
    argv: Sequence[str],
    *,
    cwd: Path | str,
    timeout: float,
    what: str,
    env: Mapping[str, str] | None = None,
    assign: Mapping[str, str] | None = None,
    log: Path | None = None,
    on_line: Callable[[str], None] | None = None,
    sudo: bool = False,
    secrets: Redactor | Iterable[str] = (),
    grace: float = 5.0,
) -> RunResult:
    """:func:`execute` of ``Command(argv, ...)``: the keywords are :class:`Command`'s fields.

    For host-local work (conf evaluation, tests); drivers hand a :class:`Command` to their
    bench side instead.
    """
    return execute(
        Command(
            argv,
            cwd=cwd,
            what=what,
            timeout=timeout,
            env=env,
            assign=assign,
            sudo=sudo,
            secrets=secrets,
            log=log,
            on_line=on_line,
            grace=grace,
        )
    )


def execute(command: Command, *, euid: int | None = None) -> RunResult:
    """Run ``command`` on this host and wait for it, at most ``command.timeout`` seconds.

    ``env`` holds extra variables merged over the current environment. ``assign`` holds
    variables for the tool that belong to its command line (never secrets): through sudo they
    are sudo's ``NAME=value`` arguments, otherwise they join the environment; the log shows
    them either way. ``secrets`` are replaced by ``***`` in the log, the callback, the result
    and any error. ``sudo`` runs the tool through ``sudo -n`` when ``euid`` (default: ours) is
    not root.

    A non-zero exit is returned, not raised. Raises :class:`DeadlineExceeded` when the deadline
    passes (the process group is killed: SIGTERM, then SIGKILL after ``grace`` seconds) and
    :class:`BenchError` when the tool cannot be started or sudo needs a password. On
    KeyboardInterrupt or SIGTERM the process group is killed before the interrupt goes on.
    """
    argv, env, assign, what = command.argv, command.env, command.assign, command.what
    timeout, log, on_line, grace = command.timeout, command.log, command.on_line, command.grace
    redactor = command.redactor
    full = privileged_argv(argv, sudo=command.sudo, euid=euid, assign=assign)
    workdir = Path(command.cwd)
    through_sudo = len(full) > len(argv)
    shown = redactor.argv(full if through_sudo else [*assignments(assign), *full])
    if not workdir.is_dir():
        raise BenchError(f"{what}: working directory {workdir} does not exist")
    extra = {**(env or {}), **({} if through_sudo else dict(assign or {}))}
    child_env = {**os.environ, **extra} if env is not None or extra else None
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
    with _open_log(log) as logf:
        _log(logf, f"$ cd {shlex.quote(str(workdir))} && {shlex.join(shown)}")
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        lines: list[str] = []

        def emit(raw: bytes) -> None:
            line = redactor(raw.decode("utf-8", "replace").rstrip("\r"))
            lines.append(line)
            tail.append(line)
            _log(logf, line)
            if on_line is not None:
                on_line(line)

        # An interrupt that lands while the child is being started is held back and delivered
        # inside the try, so it still kills the child's group (Popen itself kills nothing).
        with _sigterm_as_exception():
            with _interrupts_held() as held:
                start = time.monotonic()
                proc = _spawn(full, workdir, child_env, what)
            try:
                for signum in held:
                    signal.raise_signal(signum)
                timed_out = _pump(proc, emit, start + timeout)
                if timed_out:
                    _kill_group(proc, grace)
            except BaseException as exc:
                _kill_group(proc, grace)
                _log(logf, f"--- interrupted ({type(exc).__name__}); process group killed")
                raise
        duration = time.monotonic() - start
        if timed_out:
            _log(logf, f"--- deadline of {timeout:g} s passed; process group killed")
            raise DeadlineExceeded(
                _deadline_message(what, timeout, shown, tail, log),
                output="\n".join(lines),
            )
        returncode = proc.returncode
        _log(logf, f"--- exit {returncode} after {duration:.1f} s")
    output = "\n".join(lines)
    if sudo_refused(full, returncode, output):
        tool = _tool_of(shown)
        setenv = f" (with SETENV: it is given {', '.join(assign)})" if assign else ""
        raise BenchError(
            f"{what}: sudo needs a password; configure NOPASSWD{setenv} for {tool} "
            "(sudoers) or run as root",
            output=output,
        )
    refusal = _sudo_setenv_refusal(full, returncode, output)
    if refusal is not None:
        raise BenchError(
            f"{what}: {refusal}; add SETENV to the sudoers rule of {_tool_of(shown)} "
            "or run as root",
            output=output,
        )
    return RunResult(shown, returncode, output, duration, log)


def _spawn(
    full: list[str],
    cwd: Path,
    env: dict[str, str] | None,
    what: str,
) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            full,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        hint = " (run as root, or install sudo)" if full[0] == "sudo" else ""
        raise BenchError(f"{what}: {full[0]} not found{hint}") from exc
    except PermissionError as exc:
        raise BenchError(f"{what}: {full[0]} is not executable") from exc


def _pump(proc: subprocess.Popen[bytes], emit: Callable[[bytes], None], deadline: float) -> bool:
    """Stream the child's output until it exits; True when the deadline passed first."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    pending = b""
    exited_at: float | None = None
    try:
        while True:
            now = time.monotonic()
            if now >= deadline:
                return True
            if exited_at is None and proc.poll() is not None:
                exited_at = now
            if exited_at is not None and now - exited_at > _DRAIN_AFTER_EXIT:
                break  # a grandchild keeps the pipe open; the group is cleaned up below
            ready, _, _ = select.select([fd], [], [], min(deadline - now, 0.25))
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for raw in complete:
                emit(raw)
        if pending:
            emit(pending)
        try:
            proc.wait(timeout=max(deadline - time.monotonic(), 0.0))
        except subprocess.TimeoutExpired:
            return True
        _reap_leftovers(proc.pid)
        return False
    finally:
        proc.stdout.close()


def _kill_group(proc: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM the child's process group, SIGKILL what is left after ``grace`` seconds."""
    pgid = proc.pid
    try:
        _signal_group(pgid, signal.SIGTERM)
        end = time.monotonic() + grace
        while time.monotonic() < end:
            proc.poll()
            if proc.returncode is not None and not _group_alive(pgid):
                break
            time.sleep(0.02)
        else:
            _signal_group(pgid, signal.SIGKILL)
    except BaseException:
        _signal_group(pgid, signal.SIGKILL)  # a second interrupt: no more politeness
        raise
    finally:
        proc.wait()
        _wait_group_gone(pgid)


KILL_SETTLE = 5.0
"""How long a SIGKILLed group may take to leave the process table (the kernel ends killed
processes asynchronously; only one stuck in uninterruptible I/O takes longer)."""


def _wait_group_gone(pgid: int) -> None:
    """Return once no live process is left in group ``pgid``: when :func:`run` returns or
    raises, nothing it started is still running (bounded by :data:`KILL_SETTLE`)."""
    end = time.monotonic() + KILL_SETTLE
    while _group_alive(pgid) and time.monotonic() < end:
        _signal_group(pgid, signal.SIGKILL)
        time.sleep(0.01)


def _reap_leftovers(pgid: int) -> None:
    """Kill what the tool left running in its group after it exited."""
    if _group_alive(pgid):
        _signal_group(pgid, signal.SIGTERM)
        end = time.monotonic() + 1.0
        while _group_alive(pgid) and time.monotonic() < end:
            time.sleep(0.02)
        _signal_group(pgid, signal.SIGKILL)
        _wait_group_gone(pgid)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    # Gone already, or a root-owned sudo child (sudo relays the signal to it itself).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    """Whether any non-zombie process is still in group ``pgid``."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc_root = Path("/proc")
    if not proc_root.is_dir():
        return True
    for stat in proc_root.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


class _Terminated(BaseException):
    """SIGTERM arrived while a child was running."""


@contextmanager
def _sigterm_as_exception() -> Iterator[None]:
    """Turn SIGTERM into an exception while a child runs, then deliver it again afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is signal.SIG_IGN:
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise _Terminated

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    except _Terminated:
        signal.signal(signal.SIGTERM, previous)
        signal.raise_signal(signal.SIGTERM)
        raise SystemExit(128 + signal.SIGTERM) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _interrupts_held() -> Iterator[list[int]]:
    """Record SIGINT and SIGTERM instead of acting on them (main thread only); the caller
    delivers the recorded ones again once it can clean up after them."""
    held: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield held
        return

    def hold(signum: int, frame: FrameType | None) -> None:
        held.append(signum)

    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) is not signal.SIG_IGN:
            previous[signum] = signal.signal(signum, hold)
    try:
        yield held
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def _open_log(log: Path | None) -> Iterator[IO[str] | None]:
    if log is None:
        yield None
        return
    with log.open("a", encoding="utf-8") as handle:
        yield handle


def _log(logf: IO[str] | None, line: str) -> None:
    if logf is not None:
        logf.write(line + "\n")
        logf.flush()


def _deadline_message(
    what: str,
    timeout: float,
    shown: tuple[str, ...],
    tail: Iterable[str],
    log: Path | None,
) -> str:
    last = "\n".join(f"    {clip(line)}" for line in tail) or "    (no output)"
    where = str(log) if log is not None else "(not logged)"
    return (
        f"timed out after {timeout:g} s waiting for {what} "
        f"({shlex.join(shown)}); its process group was killed.\n"
        f"Last output lines:\n{last}\nFull log: {where}"
    )
