"""Where a bench command runs: on this host, or on the bench host over SSH.

:class:`CommandTransport` is the seam every in-tree tool (boardctl, the flow tools, the EEPROM
read, the default-user script) runs through, as a :class:`~pytest_jetson.host.command.Command`
value. :class:`LocalTransport` is :func:`pytest_jetson.host.runner.execute`.
:class:`SshTransport` runs the same argv on a bench host:

* OpenSSH with ``-tt``, so killing the local ``ssh`` (deadline, Ctrl-C, SIGTERM: the runner
  kills its process group) hangs up the remote pty and the remote process gets SIGHUP;
* the remote side bounded by coreutils ``timeout`` (SIGTERM, SIGKILL after the grace period),
  so a lost connection never leaves a tool running for ever on the bench host;
* ``sudo -n`` when asked for and the remote user is not root;
* the working directory and variables set by ``env -C <cwd> NAME=value``; the remote command
  line is ``shlex.join`` of that argv, never a string assembled from user input;
* output streamed back line by line and logged exactly as a local run (the runner does it).

An optional *watch* callback is polled while a command runs; when it returns a reason (the
exporter vanished, the place was taken away), *hangup* is called to cut the SSH connection and
the run ends with a :class:`~pytest_jetson.errors.BenchError` naming that reason.
"""

from __future__ import annotations

import shlex
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePath, PurePosixPath
from typing import Protocol, runtime_checkable

from pytest_jetson.errors import BenchError, DeadlineExceeded
from pytest_jetson.host.command import Command
from pytest_jetson.host.runner import TAIL_LINES, RunResult, assignments, execute, run

SSH_FAILED = 255
"""OpenSSH's exit status when the connection (not the remote command) failed."""
TIMEOUT_EXPIRED = (124, 137)
"""coreutils ``timeout``: 124 after SIGTERM, 128+9 when SIGKILL was needed."""
LOCAL_MARGIN = 15.0
"""Extra seconds the local deadline allows over the remote one (connection set-up, latency)."""
WATCH_PERIOD = 0.2
_SUDO_REFUSALS = ("a password is required", "a terminal is required")
_SSH_ERRORS = ("ssh: ", "Connection to ", "Control socket ", "mux_client", "kex_exchange")


@runtime_checkable
class CommandTransport(Protocol):
    """Runs bench tools and reads bench files, here or on a bench host."""

    @property
    def host(self) -> str | None:
        """The bench host commands run on, for reports; None when local."""
        ...

    def run(self, command: Command) -> RunResult:
        """Run ``command`` with the semantics of :func:`pytest_jetson.host.runner.execute`."""
        ...

    def read_text(self, path: PurePosixPath | str, *, timeout: float = 30.0) -> str:
        """The text of a file (:class:`BenchError` when it cannot be read)."""
        ...

    def exists(self, path: PurePosixPath | str, *, timeout: float = 30.0) -> bool:
        """Whether ``path`` exists."""
        ...


class LocalTransport:
    """Commands run on this host through :func:`pytest_jetson.host.runner.execute`.

    ``euid`` is the user the privilege rule is decided for (default: this process's): a
    command asking for ``sudo`` runs through ``sudo -n`` unless that user is root.
    """

    def __init__(self, *, euid: int | None = None) -> None:
        self._euid = euid

    def __repr__(self) -> str:
        return "LocalTransport()" if self._euid is None else f"LocalTransport(euid={self._euid})"

    @property
    def host(self) -> str | None:
        """None: this host."""
        return None

    def run(self, command: Command) -> RunResult:
        """Exactly :func:`pytest_jetson.host.runner.execute`."""
        return execute(command, euid=self._euid)

    def read_text(self, path: PurePosixPath | str, *, timeout: float = 30.0) -> str:
        """The file's text."""
        try:
            return Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise BenchError(f"cannot read {path}: {exc.strerror or exc}") from exc

    def exists(self, path: PurePosixPath | str, *, timeout: float = 30.0) -> bool:
        """Whether the path exists here."""
        return Path(path).exists()


class SshTransport:
    """Commands run on ``host`` through OpenSSH.

    ``options`` are the ssh options to use (labgrid's ``SSHConnection.get_prefix()`` minus
    ``ssh`` and the host: its control socket, ``PasswordAuthentication=no``, ...; or ``-F
    <ssh_config>``). ``remote_root`` says whether the remote user is root; None asks the
    host once (``id -u``). ``watch``/``hangup``: see the module docstring.
    """

    def __init__(
        self,
        host: str,
        *,
        options: Sequence[str] = (),
        ssh: str = "ssh",
        remote_root: bool | None = None,
        watch: Callable[[], str | None] | None = None,
        hangup: Callable[[], None] | None = None,
    ) -> None:
        self._host = host
        self._options = tuple(options)
        self._ssh = ssh
        self._remote_root = remote_root
        self._watch = watch
        self._hangup = hangup

    def __repr__(self) -> str:
        return f"SshTransport({self._host!r})"

    @property
    def host(self) -> str | None:
        """The bench host."""
        return self._host

    def ssh_argv(self, command: Sequence[str], *, tty: bool) -> list[str]:
        """The local argv running ``command`` (an argv, quoted here) on the host."""
        return [
            self._ssh,
            *self._options,
            *("-o", "LogLevel=ERROR"),  # no "Connection to ... closed." in the output
            *(["-tt"] if tty else ["-T"]),
            self._host,
            shlex.join(command),
        ]

    def remote_argv(
        self,
        argv: Sequence[str],
        *,
        cwd: PurePath | str,
        timeout: float,
        env: Mapping[str, str] | None = None,
        sudo: bool = False,
        grace: float = 5.0,
    ) -> list[str]:
        """What runs on the host: ``[sudo -n] timeout -k G T env -C <cwd> [K=V...] argv``."""
        words = assignments(env)
        privileged = ["sudo", "-n"] if sudo and not self.remote_is_root() else []
        return [
            *privileged,
            "timeout",
            "-k",
            f"{grace:g}",
            f"{timeout:g}",
            "env",
            "-C",
            str(cwd),
            *words,
            *argv,
        ]

    def remote_is_root(self) -> bool:
        """Whether commands run as root on the host (asked once)."""
        if self._remote_root is None:
            result = run(
                self.ssh_argv(["id", "-u"], tty=False),
                cwd=Path.cwd(),
                timeout=30.0,
                what=f"id -u on {self._host}",
            )
            self._check_ssh(result, f"id -u on {self._host}")
            if not result.ok:
                raise BenchError(
                    f"id -u on {self._host} failed with exit {result.returncode}:\n{result.tail()}",
                    output=result.output,
                )
            self._remote_root = result.output.strip().splitlines()[-1:] == ["0"]
        return self._remote_root

    def run(self, command: Command) -> RunResult:
        """Run ``command`` in its ``cwd`` on the host; the semantics of the local runner.

        A non-zero exit is returned. Raises :class:`DeadlineExceeded` when the remote
        ``timeout`` (or the local deadline) fired, and :class:`BenchError` when SSH failed,
        sudo wanted a password, or the watch callback asked for a hang-up.
        """
        argv, timeout, grace, log = command.argv, command.timeout, command.grace, command.log
        # ``env -C <cwd> NAME=value`` runs after sudo: the tool's variables reach it either way.
        variables = {**(command.env or {}), **(command.assign or {})} or None
        remote = self.remote_argv(
            argv, cwd=command.cwd, timeout=timeout, env=variables, sudo=command.sudo, grace=grace
        )
        where = f"{command.what} on {self._host}"
        redactor = command.redactor
        with _Watchdog(self._watch, self._hangup) as watchdog:
            try:
                result = execute(
                    Command(
                        self.ssh_argv(remote, tty=True),
                        cwd=Path.cwd(),
                        timeout=timeout + grace + LOCAL_MARGIN,
                        what=where,
                        log=log,
                        on_line=command.on_line,
                        secrets=redactor,
                        grace=grace,
                    )
                )
            except BenchError as exc:
                if watchdog.reason is not None:
                    raise BenchError(
                        f"{where} was cut off: {watchdog.reason}", output=exc.output
                    ) from exc
                raise
        if watchdog.reason is not None:
            raise BenchError(
                f"{where} was cut off: {watchdog.reason}; the SSH connection to "
                f"{self._host} was closed so the remote command got SIGHUP"
                f"{_log_hint(log)}\nLast output lines:\n{_indent(result.tail())}",
                output=result.output,
            )
        self._check_ssh(result, where, log)
        if result.returncode in TIMEOUT_EXPIRED and result.duration >= timeout:
            raise DeadlineExceeded(
                f"timed out after {timeout:g} s waiting for {where} "
                f"({shlex.join(redactor.argv(argv))}); the remote `timeout` killed it.\n"
                f"Last output lines:\n{_indent(result.tail(TAIL_LINES))}\n"
                f"Full log: {log if log is not None else '(not logged)'}",
                output=result.output,
            )
        if privileged_refused(remote, result):
            raise BenchError(
                f"{where}: sudo needs a password on {self._host}; configure NOPASSWD for "
                f"{argv[0]} (sudoers) on the bench host or log in as root",
                output=result.output,
            )
        return result

    def read_text(self, path: PurePosixPath | str, *, timeout: float = 30.0) -> str:
        """The file's text, read with ``cat`` (no tty, so bytes stay as they are)."""
        what = f"reading {path} on {self._host}"
        result = run(
            self.ssh_argv(["cat", "--", str(path)], tty=False),
            cwd=Path.cwd(),
            timeout=timeout,
            what=what,
        )
        self._check_ssh(result, what)
        if not result.ok:
            raise BenchError(f"cannot read {path} on {self._host}: {result.tail(3)}")
        return result.output + ("\n" if result.output else "")

    def exists(self, path: PurePosixPath | str, *, timeout: float = 30.0) -> bool:
        """Whether ``path`` exists on the host (``test -e``)."""
        what = f"test -e {path} on {self._host}"
        result = run(
            self.ssh_argv(["test", "-e", str(path)], tty=False),
            cwd=Path.cwd(),
            timeout=timeout,
            what=what,
        )
        self._check_ssh(result, what)
        return result.ok

    def _check_ssh(self, result: RunResult, what: str, log: Path | None = None) -> None:
        if result.returncode != SSH_FAILED:
            return
        last = result.lines[-3:]
        if any(line.startswith(_SSH_ERRORS) for line in last) or not result.output:
            raise BenchError(
                f"{what}: ssh to {self._host} failed (exit 255){_log_hint(log)}:\n"
                f"{_indent(result.tail(5)) or '    (no output)'}",
                output=result.output,
            )


def privileged_refused(remote: Sequence[str], result: RunResult) -> bool:
    """Whether a remote ``sudo -n`` refused to run without a password."""
    if not remote or remote[0] != "sudo" or result.ok:
        return False
    return any(marker in result.output for marker in _SUDO_REFUSALS)


class _Watchdog:
    """Polls ``watch`` in a thread while a command runs; calls ``hangup`` once on trouble."""

    def __init__(
        self, watch: Callable[[], str | None] | None, hangup: Callable[[], None] | None
    ) -> None:
        self._watch = watch
        self._hangup = hangup
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.reason: str | None = None

    def __enter__(self) -> _Watchdog:
        if self._watch is not None:
            self._thread = threading.Thread(target=self._loop, name="ssh-watchdog", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        assert self._watch is not None
        while not self._stop.wait(WATCH_PERIOD):
            reason = self._watch()
            if reason is None:
                continue
            self.reason = reason
            if self._hangup is not None:
                self._hangup()
            return


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())


def _log_hint(log: Path | None) -> str:
    return f" (log: {log})" if log is not None else ""
