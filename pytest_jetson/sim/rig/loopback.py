"""A "remote" labgrid bench on this machine, on 127.0.0.1 only, for tests and demos.

:class:`LoopbackBench` starts, for simulated DUTs of a :class:`~pytest_jetson.sim.host.SimHost`:

* a labgrid coordinator (``--listen 127.0.0.1:0``, its port read from its banner);
* one ser2net per DUT serving the DUT's console pty as RFC 2217 on a 127.0.0.1 port (ser2net
  binds every interface unless the accepter names the address);
* the exporter (:mod:`pytest_jetson.sim.rig.exporter`) exporting per DUT a
  ``NetworkSerialPort`` (``console``) and the recovery USB port (``rcm``), ``--hostname
  127.0.0.1`` so the resources name the loopback bench host;
* an sshd on a 127.0.0.1 port with generated host and user keys, and an ``ssh_config`` plus a
  ``bin/ssh`` wrapper adding ``-F <ssh_config>`` (OpenSSH reads the passwd home's config, not
  ``$HOME``'s, so a config can only be forced this way; labgrid runs plain ``ssh``);
* one place per DUT (named as the DUT) matching ``<exporter>/<dut>/*``, tagged as asked.

Every process is started in its own session and killed with its group by :meth:`close`.
:func:`missing_tools` says what is not installed, so tests can skip with the reason.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO

from pytest_jetson.errors import BenchError, DeadlineExceeded

SSHD = "/usr/sbin/sshd"
EXPORTER_NAME = "loopback"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0
CLIENT_TIMEOUT = 30.0
_LISTENING = re.compile(rb"listening on [^:]+:(\d+)")


def missing_tools() -> list[str]:
    """What the loopback bench needs and this machine lacks (empty when all is there)."""
    missing = []
    try:
        import labgrid  # noqa: F401
    except ImportError:
        missing.append("labgrid (pip install 'pytest-jetson[labgrid]')")
    if shutil.which("ser2net") is None and not Path("/usr/sbin/ser2net").exists():
        missing.append("ser2net (apt install ser2net)")
    if not Path(SSHD).exists():
        missing.append("sshd (apt install openssh-server)")
    for tool in ("ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            missing.append(f"{tool} (apt install openssh-client)")
    if os.geteuid() != 0:
        missing.append("root (sshd's privilege separation needs it)")
    return missing


@dataclass(frozen=True)
class LoopbackDut:
    """One DUT on the loopback bench."""

    name: str
    place: str
    console_port: int
    """The ser2net RFC 2217 port on 127.0.0.1."""
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def console_url(self) -> str:
        """``rfc2217://127.0.0.1:<port>``."""
        return f"rfc2217://127.0.0.1:{self.console_port}"


class LoopbackBench:
    """Coordinator, exporter, ser2net and sshd on 127.0.0.1 in ``workdir`` (a context manager).

    ``duts`` maps a DUT name to ``(console_pty, usb_port, tags)``; ``host_dir`` is the simulated
    host dir (``SimHost.host_dir``) the exporter reads USB state from.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        host_dir: Path,
        duts: Mapping[str, tuple[str, str, Mapping[str, str]]],
        python: str = sys.executable,
    ) -> None:
        self.workdir = Path(workdir).absolute()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.host_dir = Path(host_dir)
        self.python = python
        self._specs = dict(duts)
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: list[IO[bytes]] = []
        self.duts: dict[str, LoopbackDut] = {}
        self.coordinator = ""
        self.ssh_port = 0
        self.ssh_config = self.workdir / "ssh" / "ssh_config"
        self.bin_dir = self.workdir / "bin"

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> LoopbackBench:
        """Start everything; on any failure stop what was started and raise BenchError."""
        try:
            self._start_sshd()
            self._start_coordinator()
            for name, (pty, _, tags) in self._specs.items():
                port = self._start_ser2net(name, pty)
                self.duts[name] = LoopbackDut(name, name, port, dict(tags))
            self.start_exporter()
            for dut in self.duts.values():
                self._create_place(dut)
        except BaseException:
            self.close()
            raise
        return self

    def __enter__(self) -> LoopbackBench:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop every process the bench started (their whole groups); idempotent."""
        for name in list(self._procs):
            self.stop(name)
        for handle in self._logs:
            handle.close()
        self._logs.clear()

    def stop(self, name: str, sig: signal.Signals = signal.SIGTERM) -> None:
        """Stop process ``name`` (``exporter``, ``coordinator``, ``sshd``, ``ser2net-<dut>``)."""
        proc = self._procs.pop(name, None)
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # leftovers of the group

    def kill_exporter(self) -> None:
        """SIGKILL the exporter, as a crashed or unplugged bench host would look."""
        self.stop("exporter", signal.SIGKILL)

    def pids(self) -> dict[str, int]:
        """The pid of every running process of the bench."""
        return {name: p.pid for name, p in self._procs.items() if p.poll() is None}

    def env(self) -> dict[str, str]:
        """Environment for processes that must reach the bench (``ssh`` wrapper on PATH)."""
        return {"PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}

    # --- labgrid-client ---------------------------------------------------------------------

    def client(self, *args: str, place: str | None = None, user: str | None = None) -> str:
        """Run ``labgrid-client`` against the coordinator; its output (BenchError on failure)."""
        argv = [self.python, "-m", "labgrid.remote.client", "-x", self.coordinator]
        if place is not None:
            argv += ["-p", place]
        env = {**os.environ, "LG_USERNAME": user} if user else None
        try:
            done = subprocess.run(
                [*argv, *args],
                capture_output=True,
                text=True,
                timeout=CLIENT_TIMEOUT,
                env=env,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise DeadlineExceeded(f"labgrid-client {' '.join(args)} hung") from exc
        if done.returncode != 0:
            raise BenchError(
                f"labgrid-client {' '.join(args)} failed ({done.returncode}):\n"
                f"{done.stdout}{done.stderr}"
            )
        return done.stdout

    # --- pieces -----------------------------------------------------------------------------

    def start_exporter(self) -> None:
        """(Re)start the exporter and wait until the coordinator has its resources."""
        config = self.workdir / "exporter.yaml"
        config.write_text(self._exporter_config())
        proc = self._spawn(
            "exporter",
            [
                self.python,
                "-m",
                "pytest_jetson.sim.rig.exporter",
                "--coordinator",
                self.coordinator,
                "--name",
                EXPORTER_NAME,
                "--hostname",
                "127.0.0.1",
                str(config),
            ],
        )
        self._wait_output("exporter", proc, b"Exporter ready")
        deadline = time.monotonic() + START_TIMEOUT
        want = {f"{EXPORTER_NAME}/{name}/" for name in self._specs}
        while True:
            listed = self.client("resources")
            if all(prefix in listed for prefix in want):
                return
            if time.monotonic() > deadline:
                raise DeadlineExceeded(f"exporter resources did not show up:\n{listed}")
            time.sleep(0.1)

    def _exporter_config(self) -> str:
        lines = ["## generated by pytest_jetson.sim.rig.loopback (a Jinja2 template)"]
        for name, (_, usb_port, _) in self._specs.items():
            dut = self.duts[name]
            lines += [
                f"{name}:",
                "  console:",
                "    cls: NetworkSerialPort",
                "    host: 127.0.0.1",
                f"    port: {dut.console_port}",
                "    speed: 115200",
                "  rcm:",
                "    cls: SimUSBFlashableDevice",
                f"    host_dir: '{self.host_dir}'",
                f"    usb_port: '{usb_port}'",
            ]
        return "\n".join(lines) + "\n"

    def _create_place(self, dut: LoopbackDut) -> None:
        self.client("create", place=dut.place)
        self.client("add-match", f"{EXPORTER_NAME}/{dut.name}/*", place=dut.place)
        if dut.tags:
            self.client("set-tags", *(f"{k}={v}" for k, v in dut.tags.items()), place=dut.place)

    def _start_coordinator(self) -> None:
        folder = self.workdir / "coordinator"
        folder.mkdir(exist_ok=True)
        proc = self._spawn(
            "coordinator",
            [self.python, "-m", "labgrid.remote.coordinator", "--listen", "127.0.0.1:0"],
            cwd=folder,
        )
        match = _LISTENING.search(self._wait_output("coordinator", proc, b"listening on"))
        assert match is not None
        self.coordinator = f"127.0.0.1:{int(match.group(1))}"

    def _start_ser2net(self, name: str, pty: str) -> int:
        port = _free_port()
        config = self.workdir / f"ser2net-{name}.yaml"
        config.write_text(
            f"connection: &{re.sub(r'[^A-Za-z0-9]', '_', name)}\n"
            f"  accepter: telnet(rfc2217),tcp,127.0.0.1,{port}\n"
            f"  connector: serialdev(nouucplock=true),{pty},115200n81,local\n"
            "  options:\n"
            "    max-connections: 4\n"
        )
        binary = shutil.which("ser2net") or "/usr/sbin/ser2net"
        self._spawn(
            f"ser2net-{name}",
            [binary, "-n", "-d", "-c", str(config), "-P", str(self.workdir / f"{name}.pid")],
        )
        _wait_port(port, f"ser2net for {name}")
        return port

    def _start_sshd(self) -> None:
        folder = self.workdir / "ssh"
        folder.mkdir(exist_ok=True)
        host_key = folder / "host_ed25519"
        user_key = folder / "id_ed25519"
        for key in (host_key, user_key):
            if not key.exists():
                subprocess.run(
                    ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                    check=True,
                    timeout=CLIENT_TIMEOUT,
                    capture_output=True,
                )
        shutil.copy(f"{user_key}.pub", folder / "authorized_keys")
        (folder / "authorized_keys").chmod(0o600)
        self.ssh_port = _free_port()
        sshd_config = folder / "sshd_config"
        sshd_config.write_text(
            f"Port {self.ssh_port}\nListenAddress 127.0.0.1\nHostKey {host_key}\n"
            f"PidFile {folder / 'sshd.pid'}\nAuthorizedKeysFile {folder / 'authorized_keys'}\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
            "PermitRootLogin prohibit-password\nStrictModes no\nX11Forwarding no\n"
            "AllowTcpForwarding yes\nLogLevel ERROR\nMaxSessions 50\nMaxStartups 50\n"
        )
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        self._spawn("sshd", [SSHD, "-D", "-e", "-f", str(sshd_config)])
        _wait_port(self.ssh_port, "sshd")
        public = (host_key.with_suffix(".pub")).read_text().split()
        (folder / "known_hosts").write_text(
            f"[127.0.0.1]:{self.ssh_port} {public[0]} {public[1]}\n"
        )
        self.ssh_config.write_text(
            f"Host 127.0.0.1\n  Port {self.ssh_port}\n  User root\n  IdentityFile {user_key}\n"
            f"  IdentitiesOnly yes\n  UserKnownHostsFile {folder / 'known_hosts'}\n"
            "  StrictHostKeyChecking yes\n  BatchMode yes\n  ConnectTimeout 10\n"
        )
        self.bin_dir.mkdir(exist_ok=True)
        wrapper = self.bin_dir / "ssh"
        real = shutil.which("ssh") or "/usr/bin/ssh"
        wrapper.write_text(f'#!/bin/sh\nexec {real} -F "{self.ssh_config}" "$@"\n')
        wrapper.chmod(0o755)

    def _spawn(
        self, name: str, argv: Sequence[str], *, cwd: Path | None = None
    ) -> subprocess.Popen[bytes]:
        log = (self.workdir / f"{name}.log").open("ab")
        self._logs.append(log)
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd or self.workdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._procs[name] = proc
        return proc

    def _wait_output(self, name: str, proc: subprocess.Popen[bytes], marker: bytes) -> bytes:
        log = self.workdir / f"{name}.log"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            text = log.read_bytes() if log.exists() else b""
            if marker in text:
                return text
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = text.decode(errors="replace").splitlines()[-15:]
                raise BenchError(
                    f"{name} did not print {marker.decode()!r} within {START_TIMEOUT:g} s "
                    f"(exit {proc.poll()}); last lines of {log}:\n" + "\n".join(tail)
                )
            time.sleep(0.05)

    def logs(self, names: Iterable[str] = ()) -> str:
        """The logs of the bench's processes (for failure messages)."""
        chosen = list(names) or [p.stem for p in sorted(self.workdir.glob("*.log"))]
        parts = []
        for name in chosen:
            path = self.workdir / f"{name}.log"
            if path.exists():
                parts.append(f"--- {path}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        if time.monotonic() > deadline:
            raise DeadlineExceeded(f"{what} did not listen on 127.0.0.1:{port} in time")
        time.sleep(0.05)
