"""The simulated DUT's state, shared between processes through a state directory.

One directory per DUT (``<host_dir>/duts/<name>/``) holds ``state.json``: power and recovery
mode, the simulated EEPROM, what was flashed, faults, the speed factor, the USB port path and
the console port. Writers take an ``fcntl`` lock for the read-modify-write and replace the file
atomically, so readers (the console process, the USB backend) never see a torn file and can
notice a change by the file's identity (``st_ino``/``st_mtime_ns``).

Several DUTs share one simulated host: :func:`host_state_dirs` lists them.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pytest_jetson.sim.boards import SimEeprom

Mode = Literal["off", "on", "recovery", "initrd"]
"""``off``; ``on`` (running the flashed image); ``recovery`` (RCM); ``initrd`` (initrd flash)."""

STATE_FILE = "state.json"
LOCK_FILE = "state.lock"
CALLS_FILE = "calls.log"
"""One JSON line per simulated tool run that reached this DUT: what a bench technician
would see in the board's history (``{"tool": ..., "argv": [...]}``)."""
DUTS_DIR = "duts"
"""Sub-directory of a host dir holding one state dir per DUT."""


@dataclass(frozen=True)
class StagedUser:
    """A default user staged in a rootfs (and, once flashed, present on the DUT)."""

    username: str
    password_hash: str
    """``$sim-sha256$<salt>$<hex>``: never the password itself."""
    autologin_ttys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Flashed:
    """What is on the DUT's boot media."""

    release: str
    """Profile form: ``R36.4.3``."""
    board: str
    """``<board>`` as the flow tool got it (conf name minus ``.conf``)."""
    sku: str
    fab: str
    boot_device: str
    tool: str
    """``flash.sh``, ``l4t_initrd_flash.sh`` or ``factory``."""
    time: float
    nv_tegra_release: str
    """The text of ``/etc/nv_tegra_release`` on the DUT."""
    kernel: str
    """``uname -r``."""
    ubuntu: str
    """``22.04.5 LTS``."""
    hostname: str = "tegra-ubuntu"
    user: StagedUser | None = None
    layout: str = ""
    """The partition layout the flow tool used (``EMMC_CFG`` of flash.sh, ``-c`` of the
    initrd flow)."""
    rootfs_ab: bool = False
    """Flashed with ``ROOTFS_AB=1`` (two root file systems)."""
    kernel_sha256: str = ""
    """SHA-256 of the kernel Image the flash wrote (``kernel/Image`` of the tree)."""
    dtb: str = ""
    """The DTB the boot entry names on the DUT (``/boot/dtb/kernel_<DTB_FILE>``)."""
    dtb_sha256: str = ""
    """SHA-256 of that DTB (the tree's ``kernel/dtb/<DTB_FILE>`` when flashed)."""
    boot_slot: str = "0"
    """``nvbootctrl get-current-slot``: a flash leaves slot A (0) current."""


@dataclass(frozen=True)
class DutState:
    """A snapshot of one simulated DUT."""

    name: str
    board: str
    """Simulated board key (``orin-agx``)."""
    chip: str
    """``t234`` or ``t264``."""
    eeprom: SimEeprom
    usb_bus: int
    usb_port: str
    """RCM port path ``<bus>-<port>[.<port>...]``."""
    console_port: str
    """The stable path of the console pty (a symlink)."""
    mode: Mode = "on"
    boot_seq: int = 0
    """Incremented on every reset / power-on into the flashed image; the console replays."""
    usb_dropped: bool = False
    """The RCM device vanished from the bus (``usb_drop_mid_flash``) until the next recovery."""
    flashed: Flashed | None = None
    faults: tuple[str, ...] = ()
    speed: float = 1.0
    serial_number: str = ""
    tcu_seed: int = 0
    """Seed of the combined UART's interleaving (same seed, same boot: same bytes)."""

    @property
    def port_numbers(self) -> tuple[int, ...]:
        """The port path as numbers: ``1-4.2`` → ``(4, 2)``."""
        return tuple(int(p) for p in self.usb_port.split("-", 1)[1].split("."))

    @property
    def in_rcm(self) -> bool:
        """Whether the RCM device is on the bus now."""
        return self.mode == "recovery" and not self.usb_dropped

    def has_fault(self, name: str) -> bool:
        """Whether fault ``name`` is active."""
        return name in self.faults

    def fault_values(self, name: str) -> list[str]:
        """The values of every ``name=value`` fault that is active."""
        return [f.partition("=")[2] for f in self.faults if f.startswith(f"{name}=")]

    def scaled(self, seconds: float) -> float:
        """``seconds`` of simulated time, in wall seconds at this DUT's speed."""
        return seconds / self.speed if self.speed > 0 else seconds


def hash_password(password: str, *, salt: str | None = None) -> str:
    """A salted hash of ``password`` in the simulator's shadow format."""
    salt = salt or secrets.token_hex(8)
    digest = hashlib.sha256(f"{salt}:{password}".encode()).hexdigest()
    return f"$sim-sha256${salt}${digest}"


def check_password(password: str, password_hash: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (from :func:`hash_password`)."""
    parts = password_hash.split("$")
    if len(parts) != 4 or parts[1] != "sim-sha256":
        return False
    return hmac.compare_digest(hash_password(password, salt=parts[2]), password_hash)


def _to_json(state: DutState) -> dict[str, Any]:
    return dataclasses.asdict(state)


def _user_from(data: dict[str, Any] | None) -> StagedUser | None:
    if data is None:
        return None
    return StagedUser(
        username=data["username"],
        password_hash=data["password_hash"],
        autologin_ttys=tuple(data.get("autologin_ttys", ())),
    )


def _flashed_from(data: dict[str, Any] | None) -> Flashed | None:
    if data is None:
        return None
    fields = dict(data)
    fields["user"] = _user_from(fields.get("user"))
    return Flashed(**fields)


def _from_json(data: dict[str, Any]) -> DutState:
    fields = dict(data)
    fields["eeprom"] = SimEeprom(**fields["eeprom"])
    fields["flashed"] = _flashed_from(fields.get("flashed"))
    fields["faults"] = tuple(fields.get("faults", ()))
    return DutState(**fields)


@dataclass(frozen=True)
class StateStore:
    """Reads and updates the state of the DUT whose state dir is ``state_dir``."""

    state_dir: Path
    _lock_name: str = field(default=LOCK_FILE, repr=False)

    @property
    def path(self) -> Path:
        """``state.json``."""
        return self.state_dir / STATE_FILE

    def exists(self) -> bool:
        """Whether the state was written."""
        return self.path.is_file()

    def read(self) -> DutState:
        """The current state (no lock needed: writes are atomic)."""
        return _from_json(json.loads(self.path.read_text()))

    def stamp(self) -> tuple[int, int]:
        """A value that changes whenever the state is rewritten."""
        st = os.stat(self.path)
        return (st.st_ino, st.st_mtime_ns)

    def write(self, state: DutState) -> None:
        """Replace the state (under the lock)."""
        with self._locked():
            self._write(state)

    def update(self, change: Callable[[DutState], DutState]) -> DutState:
        """Apply ``change`` to the current state under the lock; return the new state."""
        with self._locked():
            new = change(self.read())
            self._write(new)
            return new

    def replace(self, **changes: Any) -> DutState:
        """Set fields of the state under the lock (``dataclasses.replace`` semantics)."""
        return self.update(lambda s: dataclasses.replace(s, **changes))

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.state_dir / self._lock_name, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _write(self, state: DutState) -> None:
        text = json.dumps(_to_json(state), indent=1, sort_keys=True)
        fd, tmp = tempfile.mkstemp(dir=self.state_dir, prefix=".state.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(text)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def topo_serial(state: DutState) -> str:
    """The USB serial of the DUT's TOPO, as boardctl's ``-s`` compares it and as udev puts it
    in ``/dev/serial/by-id/usb-NVIDIA_Tegra_On-Platform_Operator_<serial>-if01``."""
    return f"TOPO{state.serial_number}"


def host_state_dirs(host_dir: Path) -> list[Path]:
    """The state dirs of every DUT on the simulated host ``host_dir``, by name."""
    duts = host_dir / DUTS_DIR
    if not duts.is_dir():
        return []
    return sorted(p for p in duts.iterdir() if (p / STATE_FILE).is_file())


def host_dir_of(state_dir: Path) -> Path:
    """The simulated host a DUT's state dir belongs to."""
    return state_dir.parent.parent


def power_cycle(state: DutState, mode: Mode) -> DutState:
    """``state`` moved to ``mode``; entering ``on`` counts as a (re)boot."""
    boot_seq = state.boot_seq + 1 if mode == "on" else state.boot_seq
    return dataclasses.replace(state, mode=mode, boot_seq=boot_seq, usb_dropped=False)


@dataclass(frozen=True)
class ToolCall:
    """One simulated tool run on a DUT: the tool's key and its arguments."""

    tool: str
    argv: tuple[str, ...]

    @property
    def verb(self) -> str:
        """The last argument (boardctl's command: ``reset``, ``recovery``...), or ``""``."""
        return self.argv[-1] if self.argv else ""


def log_call(state_dir: Path, tool: str, argv: list[str]) -> None:
    """Append one tool run to the DUT's call log (an ``O_APPEND`` write of one line, so
    concurrent tools never interleave)."""
    line = json.dumps({"tool": tool, "argv": list(argv)}) + "\n"
    fd = os.open(state_dir / CALLS_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def tool_calls(state_dir: Path) -> list[ToolCall]:
    """Every tool run logged for the DUT of ``state_dir``, oldest first."""
    path = state_dir / CALLS_FILE
    if not path.is_file():
        return []
    calls = []
    for line in path.read_text().splitlines():
        data = json.loads(line)
        calls.append(ToolCall(data["tool"], tuple(data["argv"])))
    return calls
