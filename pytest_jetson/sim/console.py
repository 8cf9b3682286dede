"""The simulated DUT's serial console: a separate process owning a real pty.

The pty's slave appears at a stable path (a symlink in the state dir, ``ttyACM0`` or
``ttyUSB0`` like the host node of the
real console: the AGX boards' TOPO port is ``/dev/ttyACM0``, the Orin Nano's USB-TTL adapter
``/dev/ttyUSB0``) that pyserial opens. After every reset or power on
the process plays the boot log (:mod:`pytest_jetson.sim.bootlog`), time-scaled by the DUT's
speed factor; it prints nothing while the DUT is off or in recovery, and nothing reaches a port
that nobody has open (as on a real UART). It answers a login and a few shell commands.

The process exits on SIGTERM and when its owner dies (``PR_SET_PDEATHSIG`` plus a
``getppid`` watchdog), removing its symlink.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import fcntl
import os
import select
import shlex
import signal
import subprocess
import sys
import time
import tty
from collections import deque
from pathlib import Path
from types import FrameType

from pytest_jetson.sim.bootlog import (
    Event,
    boot_script,
    end_of_boot,
    flashed_release,
    login_banner,
)
from pytest_jetson.sim.state import DutState, Flashed, StateStore, check_password, power_cycle
from pytest_jetson.sim.tcu import TcuRenderer

POLL_SECONDS = 0.02
"""How often the console looks at the state and the owner."""
REPLUG_WAIT = 10.0
"""Wall seconds a replugged console's boot waits for the host that had the port open to reopen
it (then it goes on, unheard; nobody listening at the unplug: no wait). The boot plays at the
DUT's speed factor but the host's reopening does not: on a bench the host reopens within a
fraction of a second of a minute-long boot, so what the board prints after the replug is
heard; a sped-up boot could otherwise finish before a loaded host reopened, and whether it was
heard would depend on the machine's load."""
_PR_SET_PDEATHSIG = 1


def port_name(board: str) -> str:
    """The host node name of the board's console: ``ttyUSB0`` for the Orin Nano (an external
    USB-TTL adapter), ``ttyACM0`` for the AGX boards (the TOPO micro-B port)."""
    return "ttyUSB0" if board == "orin-nano" else "ttyACM0"


class Pty:
    """A pty whose slave is published at ``link``; output is dropped while nobody listens."""

    def __init__(self, link: Path) -> None:
        self.link = link
        self.master = -1
        self.slave_name = ""
        self._poll = select.poll()

    def open(self) -> None:
        """Create the pty and point ``link`` at its slave."""
        master, slave = os.openpty()
        tty.setraw(slave)
        self.slave_name = os.ttyname(slave)
        os.close(slave)
        fcntl.fcntl(master, fcntl.F_SETFL, fcntl.fcntl(master, fcntl.F_GETFL) | os.O_NONBLOCK)
        self.master = master
        self._poll = select.poll()
        self._poll.register(master, select.POLLIN)
        tmp = self.link.with_name(f".{self.link.name}.{os.getpid()}")
        tmp.unlink(missing_ok=True)
        os.symlink(self.slave_name, tmp)
        os.replace(tmp, self.link)

    def close(self) -> None:
        """Remove ``link`` (if it is still ours) and close the pty: open ports see a hangup."""
        with contextlib.suppress(OSError):
            if os.readlink(self.link) == self.slave_name:
                self.link.unlink()
        if self.master >= 0:
            os.close(self.master)
            self.master = -1

    @property
    def is_open(self) -> bool:
        """Whether the pty exists (False while unplugged)."""
        return self.master >= 0

    def listening(self) -> bool:
        """Whether someone has the slave open."""
        if self.master < 0:
            return False
        return not any(ev & select.POLLHUP for _, ev in self._poll.poll(0))

    def write(self, data: bytes) -> None:
        """Send ``data`` if someone listens; drop it otherwise or when the buffer is full."""
        if self.listening():
            with contextlib.suppress(OSError):
                os.write(self.master, data)

    def read(self) -> bytes:
        """Whatever the other side typed (empty when nothing)."""
        if not self.listening():
            return b""
        try:
            return os.read(self.master, 4096)
        except OSError:
            return b""


WEDGED = ("console_silent", "hang_until_power_cycle", "needs_reflash", "never_recovers")
"""Faults under which the board is found wedged: no output at all, typing ignored."""


class Console:
    """The console's behaviour: boot playback, login, shell."""

    def __init__(self, store: StateStore, pty: Pty) -> None:
        self.store = store
        self.pty = pty
        self.state = store.read()
        self.stamp = store.stamp()
        self.events: deque[tuple[float, Event]] = deque()
        self.phase = "idle"
        self.line = ""
        self.user = ""
        self.last_cr = False
        self.tcu: TcuRenderer | None = None
        self.replugged_at: float | None = None
        self.heard_at_unplug = False
        """When the port came back (on the boot's schedule), while the boot waits for the
        host to reopen it."""
        if self.state.mode == "on" and self.state.flashed is not None:
            self.phase = self._settled_phase(self.state)
        self.hung = any(self.state.has_fault(f) for f in WEDGED)
        if self.hung:
            self.phase = "silent"

    def _settled_phase(self, state: DutState) -> str:
        assert state.flashed is not None
        end = end_of_boot(state, state.flashed)
        return {"login": "login", "autologin": "shell", "wizard": "wizard"}.get(end, "idle")

    # -- output ----------------------------------------------------------------------------

    def emit(self, text: str) -> None:
        """Write ``text`` with the DUT's CRLF line ends."""
        self.pty.write(text.replace("\n", "\r\n").encode())

    def prompt(self) -> None:
        """The login or shell prompt of the current phase."""
        assert self.state.flashed is not None
        host = self.state.flashed.hostname
        if self.phase == "login":
            self.emit(f"{host} login: ")
        elif self.phase == "shell":
            self.emit(f"{self.user}@{host}:~$ ")

    # -- state -----------------------------------------------------------------------------

    def poll_state(self) -> None:
        """Notice a reset, power change or flash in the shared state."""
        try:
            stamp = self.store.stamp()
        except FileNotFoundError:
            return
        if stamp == self.stamp:
            return
        self.stamp = stamp
        old, self.state = self.state, self.store.read()
        if self.state.flashed != old.flashed and not self.state.has_fault("never_recovers"):
            self.hung = False  # a flash rewrote the boot chain
        if self.state.mode != "on":
            self.events.clear()
            self.replugged_at = None
            self.phase = "idle"
            if not any(self.state.has_fault(f) for f in ("never_recovers", "needs_reflash")):
                self.hung = False  # power went away: a hang does not survive it
            if not self.pty.is_open:
                self.pty.open()
        elif self.state.boot_seq != old.boot_seq:
            if self.hung and self._stays_wedged(reset=old.mode == "on"):
                return
            self.hung = False
            self.start_boot()

    def _stays_wedged(self, *, reset: bool) -> bool:
        """Whether a wedged board stays silent through this boot: a hung one ignores the
        reset line (only a power cycle helps), a corrupt boot chain needs a flash first, a
        dead one never comes back."""
        if self.state.has_fault("never_recovers") or self.state.has_fault("needs_reflash"):
            return True
        return reset and self.state.has_fault("hang_until_power_cycle")

    def start_boot(self) -> None:
        """Schedule the boot log of the flashed image from now."""
        self.events.clear()
        self.replugged_at = None
        self.phase = "booting"
        self.line = ""
        if not self.pty.is_open:
            self.pty.open()
        state = self.state
        self.tcu = TcuRenderer(
            state.chip, state.tcu_seed, state.boot_seq, heavy=state.has_fault("tcu_garble")
        )
        now = time.monotonic()
        for event in boot_script(self.state):
            self.events.append((now + self.state.scaled(event.at), event))

    def run_due(self) -> None:
        """Play every event whose time has come."""
        now = time.monotonic()
        if self.replugged_at is not None and not self._resumed(now):
            return
        while self.events and self.events[0][0] <= now:
            at, event = self.events.popleft()
            if event.kind == "line" and self.tcu is not None:
                self.pty.write(self.tcu.line(event.stage, event.text))
            elif event.kind == "line":
                self.emit(event.text + "\n")
            elif event.kind == "unplug":
                self.heard_at_unplug = self.pty.listening()
                self.pty.close()
            elif event.kind == "replug":
                self.pty.open()
                if self.heard_at_unplug:  # a host had the port open: it will reopen it
                    self.replugged_at = at
                    return
            elif event.kind == "end":
                self._end_boot(event)

    def _end_boot(self, event: Event) -> None:
        if event.end == "login":
            self.phase = "login"
            assert self.state.flashed is not None
            prompt = f"{self.state.flashed.hostname} login: "
            if self.tcu is not None:
                self.pty.write(self.tcu.prompt(prompt))
            else:
                self.prompt()
        elif event.end == "autologin":
            assert self.state.flashed is not None and self.state.flashed.user is not None
            self.user = self.state.flashed.user.username
            self.emit(f"{self.state.flashed.hostname} login: {self.user} (automatic login)\n\n")
            self._welcome()
        elif event.end == "wizard":
            self.phase = "wizard"
        else:
            self.phase = "dead"

    def _resumed(self, now: float) -> bool:
        """Whether a replugged boot goes on: once the host reopened the port (or after
        :data:`REPLUG_WAIT`), with the rest of the boot shifted by the wait."""
        assert self.replugged_at is not None
        if not self.pty.listening() and now - self.replugged_at < REPLUG_WAIT:
            return False
        waited = now - self.replugged_at
        self.events = deque((at + waited, event) for at, event in self.events)
        self.replugged_at = None
        return True

    def next_due(self) -> float | None:
        """When the next event is due (monotonic), if any (None while a replugged boot waits
        for the port to be reopened: the console polls)."""
        if self.replugged_at is not None:
            return None
        return self.events[0][0] if self.events else None

    # -- input -----------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Handle what the other side typed."""
        for ch in data.decode(errors="replace"):
            if ch == "\n" and self.last_cr:
                self.last_cr = False
                continue
            self.last_cr = ch == "\r"
            if self.phase not in ("login", "password", "shell"):
                continue
            if ch in "\r\n":
                line, self.line = self.line, ""
                self._enter(line)
            elif ch in "\x7f\b":
                if self.line:
                    self.line = self.line[:-1]
                    if self.phase != "password":
                        self.emit("\b \b")
            elif ch == "\x03":
                self.line = ""
                self.emit("^C\n")
                self.phase = "login" if self.phase == "password" else self.phase
                self.prompt()
            elif ch >= " ":
                self.line += ch
                if self.phase != "password":
                    self.emit(ch)

    def _enter(self, line: str) -> None:
        self.emit("\n")
        flashed = self.state.flashed
        assert flashed is not None
        if self.phase == "login":
            if not line.strip():
                self.prompt()
                return
            self.user = line.strip()
            self.phase = "password"
            self.emit("Password: ")
        elif self.phase == "password":
            user = flashed.user
            if (
                user is not None
                and self.user == user.username
                and check_password(line, user.password_hash)
            ):
                self._welcome()
            else:
                self.phase = "login"
                self.emit("\nLogin incorrect\n")
                self.prompt()
        else:
            self._command(line)

    def _welcome(self) -> None:
        assert self.state.flashed is not None
        release = flashed_release(self.state.flashed)
        self.emit(
            f"Welcome to Ubuntu {release.ubuntu} (GNU/Linux {release.kernel} aarch64)\n\n"
            " * Documentation:  https://help.ubuntu.com\n"
            " * Management:     https://landscape.canonical.com\n"
            " * Support:        https://ubuntu.com/pro\n\n"
        )
        self.phase = "shell"
        self.prompt()

    def _command(self, line: str) -> None:
        """Run a line like a small POSIX shell: ``;``-separated commands, quotes, ``$?``."""
        flashed = self.state.flashed
        assert flashed is not None
        release = flashed_release(flashed)
        status = 0
        for words in _split_commands(line):
            words = [w.replace("$?", str(status)) for w in words]
            if words[:1] == ["sudo"]:
                words = words[1:]
            if not words:
                continue
            cmd = words[0]
            if cmd in ("exit", "logout"):
                self.phase = "login"
                self.emit("\n")
                self.emit("\n".join(login_banner(self.state, flashed)) + "\n")
                self.prompt()
                return
            if cmd == "reboot":
                self.emit("[  OK  ] Stopping Serial Getty...\n")
                self.store.update(lambda s: power_cycle(s, "on"))
                return
            output, status = self._output(words, flashed.hostname, release.kernel)
            self.emit(output)
        self.prompt()

    def _output(self, words: list[str], host: str, kernel: str) -> tuple[str, int]:
        assert self.state.flashed is not None
        cmd, args = words[0], words[1:]
        if cmd == "uname":
            if "-a" in args:
                return (
                    f"Linux {host} {kernel} #1 SMP PREEMPT aarch64 aarch64 aarch64 GNU/Linux\n",
                    0,
                )
            return (f"{kernel}\n" if "-r" in args else "Linux\n"), 0
        if cmd == "echo":
            return " ".join(args) + "\n", 0
        if cmd == "hostname":
            return f"{host}\n", 0
        if cmd == "whoami":
            return f"{self.user}\n", 0
        if cmd in ("true", ":"):
            return "", 0
        if cmd == "false":
            return "", 1
        if cmd == "nvbootctrl" and args == ["get-current-slot"]:
            return f"{self.state.flashed.boot_slot}\n", 0
        if cmd == "sha256sum":
            return _sha256sum(self.state.flashed, args)
        if cmd == "cat":
            files = {
                "/etc/nv_tegra_release": self.state.flashed.nv_tegra_release,
                "/etc/hostname": f"{host}\n",
                "/boot/extlinux/extlinux.conf": extlinux_text(self.state.flashed),
            }
            missing = [a for a in args if a not in files]
            text = "".join(files.get(a, f"cat: {a}: No such file or directory\n") for a in args)
            return text, 1 if missing else 0
        return f"-bash: {cmd}: command not found\n", 127


def extlinux_text(flashed: Flashed) -> str:
    """``/boot/extlinux/extlinux.conf`` as flash.sh leaves it: one ``primary`` entry whose
    ``LINUX`` is ``/boot/Image`` and whose ``FDT`` names the flashed DTB."""
    fdt = f"      FDT {flashed.dtb}\n" if flashed.dtb else ""
    return (
        "TIMEOUT 30\nDEFAULT primary\n\nMENU TITLE L4T boot options\n\nLABEL primary\n"
        "      MENU LABEL primary kernel\n      LINUX /boot/Image\n"
        f"{fdt}      INITRD /boot/initrd\n      APPEND ${{cbootargs}} root=/dev/mmcblk0p1 rw\n"
    )


def _sha256sum(flashed: Flashed, paths: list[str]) -> tuple[str, int]:
    """``sha256sum`` of the boot files the flash wrote (a missing one: an error line, exit 1)."""
    known = {"/boot/Image": flashed.kernel_sha256}
    if flashed.dtb:
        known[flashed.dtb] = flashed.dtb_sha256
    out, status = [], 0
    for path in paths:
        if known.get(path):
            out.append(f"{known[path]}  {path}\n")
        else:
            out.append(f"sha256sum: {path}: No such file or directory\n")
            status = 1
    return "".join(out), status


def _split_commands(line: str) -> list[list[str]]:
    """Split a command line into ``;``-separated commands of words (quotes removed)."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";")
    lexer.whitespace_split = True
    commands: list[list[str]] = [[]]
    try:
        for token in lexer:
            if token and set(token) == {";"}:
                commands.append([])
            else:
                commands[-1].append(token)
    except ValueError:
        return [line.split()]
    return commands


def _set_pdeathsig() -> None:
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def serve(state_dir: Path, owner_pid: int) -> None:
    """Run the console of the DUT in ``state_dir`` until SIGTERM or the owner's death."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _set_pdeathsig()
    if os.getppid() != owner_pid:
        return
    store = StateStore(state_dir)
    pty = Pty(Path(store.read().console_port))
    pty.open()
    try:
        console = Console(store, pty)
        while os.getppid() == owner_pid:
            console.poll_state()
            console.run_due()
            due = console.next_due()
            timeout = (
                POLL_SECONDS if due is None else min(POLL_SECONDS, max(0.0, due - time.monotonic()))
            )
            if pty.listening():
                ready, _, _ = select.select([pty.master], [], [], timeout)
                if ready:
                    console.feed(pty.read())
            else:
                time.sleep(timeout)
    finally:
        pty.close()


def start(state_dir: Path, *, log: Path | None = None) -> subprocess.Popen[bytes]:
    """Start the console process of the DUT in ``state_dir``, owned by this process."""
    out = open(log or state_dir / "console.log", "ab")  # noqa: SIM115 (handed to the child)
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "pytest_jetson.sim.console", str(state_dir), str(os.getpid())],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    finally:
        out.close()


def main(argv: list[str] | None = None) -> None:
    """``python -m pytest_jetson.sim.console STATE_DIR OWNER_PID``."""
    parser = argparse.ArgumentParser(prog="python -m pytest_jetson.sim.console")
    parser.add_argument("state_dir", type=Path)
    parser.add_argument("owner_pid", type=int)
    args = parser.parse_args(argv)
    serve(args.state_dir, args.owner_pid)


if __name__ == "__main__":
    main()
