"""One simulated host with its DUTs: trees, tools, state, USB view and console processes.

``SimHost(workdir)`` is what the plugin builds for ``--dut=sim-*`` and for simulated bench
entries::

    with SimHost(tmp_path) as host:
        dut = host.add_dut("sim-orin", "orin-agx", faults=("flash_fail",))
        backend = host.usb_backend()       # hand to the product's RCM detection
        dut.console_port                   # a pty path pyserial opens

Every console process dies with :meth:`SimHost.close`, at interpreter exit, and when the
owning process is killed outright (the console watches its parent).

:meth:`SimHost.shared` opens a host that several processes use at once (the xdist workers of a
run, sessions against one inventory; see :mod:`pytest_jetson.sim.hostdir`): a DUT another
process added is attached, not rebuilt (its state stays as that process left it, a console is
started for it when none runs), trees are built once, USB ports are numbered host-wide, and
:meth:`SimHost.release` hands a DUT back (its console stops) while the host lives on.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import hashlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal

import yaml

from pytest_jetson.errors import BenchError, UsageError
from pytest_jetson.sim import console
from pytest_jetson.sim.boards import RELEASES, SimBoard, board_by_key
from pytest_jetson.sim.faults import apply_tree_faults, check_faults, faulty_eeprom
from pytest_jetson.sim.hostdir import Membership
from pytest_jetson.sim.image import bench_image, factory_image
from pytest_jetson.sim.state import (
    DUTS_DIR,
    DutState,
    Flashed,
    Mode,
    StateStore,
    host_state_dirs,
    topo_serial,
)
from pytest_jetson.sim.tools import install_tools
from pytest_jetson.sim.tools._env import MARKER
from pytest_jetson.sim.tree import SimTree, make_tree
from pytest_jetson.sim.usb import SimUsbBackend

FIRST_PORT = 4
"""The first DUT sits on ``1-4``, the next on ``1-5``, ..."""
USB_BUS = 1
BOARDCTL_TARGETS = {"t234": "topo", "t264": "thor-jetson-module"}
"""The boardctl target of each chip's devkit (R38+: ``topo`` is the Orin TOPO driver)."""
CONSOLE_START_SECONDS = 10.0
CONSOLE_STOP_SECONDS = 3.0
TREE_NOTE = ".sim-tree.json"
"""Written into a tree's folder once it is built: its board and release."""
CONSOLE_PID = "console.pid"
"""In a DUT's state dir: the pid of the console process serving it."""

Start = Literal["booted", "factory", "blank", "off"]
STARTS: dict[str, str] = {
    "booted": "flashed with its tree and booted to a login prompt (as a bench board usually is)",
    "factory": "running an older factory image with no user staged (the first-boot wizard)",
    "blank": "powered on with nothing flashed: the console stays silent",
    "off": "flashed with its tree but powered off: the console stays silent until power-on",
}
"""How a simulated DUT is found when the session starts, and what that means."""


@dataclass(frozen=True)
class SimDut:
    """One simulated DUT as a bench entry sees it."""

    name: str
    board: SimBoard
    release: str
    tree: SimTree
    lft: Path
    state_dir: Path
    console_port: str
    usb_port: str
    boardctl_target: str
    """``thor-jetson-module`` for a Thor, ``topo`` (the Orin TOPO driver) for an Orin."""
    boardctl_serial: str
    """The USB serial of the DUT's TOPO (what boardctl's ``-s`` takes)."""
    profile_path: Path

    @property
    def store(self) -> StateStore:
        """The DUT's shared state."""
        return StateStore(self.state_dir)

    def state(self) -> DutState:
        """The DUT's state now."""
        return self.store.read()


class SimHost:
    """A simulated host in ``workdir``; a context manager that closes on exit."""

    def __init__(self, workdir: Path, *, membership: Membership | None = None) -> None:
        self.workdir = Path(workdir).absolute()
        self.host_dir = self.workdir / "host"
        (self.host_dir / DUTS_DIR).mkdir(parents=True, exist_ok=True)
        self._duts: dict[str, SimDut] = {}
        self._trees: dict[str, tuple[str, SimTree]] = {}
        self._consoles: dict[str, subprocess.Popen[bytes]] = {}
        self._membership = membership
        self._closed = False
        atexit.register(self.close)

    @classmethod
    def shared(cls, root: Path) -> SimHost:
        """The host at ``root`` that other processes may be using too (joined as a member;
        a host whose members all died is wiped first). Closing it leaves; the last process to
        leave removes ``root``."""
        membership = Membership.join(root)
        return cls(membership.host_dir, membership=membership)

    @property
    def is_shared(self) -> bool:
        """Opened with :meth:`shared`."""
        return self._membership is not None

    @property
    def wiped_stale(self) -> bool:
        """Joining found the state of processes that all died, and wiped it."""
        return self._membership is not None and self._membership.wiped_stale

    def _locked(self) -> contextlib.AbstractContextManager[None]:
        if self._membership is None:
            return contextlib.nullcontext()
        return self._membership.locked()

    def __enter__(self) -> SimHost:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def duts(self) -> dict[str, SimDut]:
        """The DUTs added so far, by name."""
        return dict(self._duts)

    def add_dut(
        self,
        name: str,
        board: str,
        *,
        release: str | None = None,
        faults: Iterable[str] = (),
        speed: float = 1.0,
        default_boot_device: str | None = None,
        start: Start = "factory",
        user: tuple[str, str] | None = None,
        tcu_seed: int = 0,
        tree_name: str | None = None,
        keep: Path | None = None,
        usb_port: str | None = None,
        port_hint: str | None = None,
    ) -> SimDut:
        """Build a DUT: its tree (with tree faults), tools, state, profile and console.

        ``tree_name``: DUTs of one board that name the same tree share one Linux_for_Tegra
        tree, as several Jetsons of one image do on a real bench host (the first one builds
        it; its tools pick their board by ``--usb-instance``/``-s`` among the host's).
        ``start`` is how the DUT is found (:data:`STARTS`); for ``booted`` and ``off`` its
        image is the tree with ``user`` = ``(name, password)`` staged, as the bench left it.
        ``tcu_seed`` seeds its console's combined-UART interleaving.
        ``keep`` is a folder keeping the DUT across sessions: its tree is built there once,
        and a DUT found there runs what the last session flashed (``start`` applies only to
        a new one), like a board left on the bench.
        ``usb_port`` is where the board is plugged (``1-5``); None: the first free port from
        ``1-4``. boardctl's ``-i`` counts debuggers in port order. ``port_hint`` is the port
        taken when it is free (else the first free one): a board that always sits on the same
        port keeps its port, hence its plan digest, whichever DUT arrives first.
        """
        if start not in STARTS:
            raise UsageError(f"unknown simulated start {start!r} (valid: {', '.join(STARTS)})")
        if self._closed:
            raise UsageError("this simulated host is closed")
        if name in self._duts:
            raise UsageError(f"simulated DUT {name!r} already exists on this host")
        chosen = check_faults(faults)
        new = _NewDut(
            name=name,
            board=board_by_key(board),
            release=release,
            faults=chosen,
            speed=speed,
            boot_device=default_boot_device,
            start=start,
            user=user,
            tcu_seed=tcu_seed,
            tree_name=tree_name or name,
            keep=keep,
            usb_port=usb_port,
            port_hint=port_hint,
        )
        with self._locked():
            state_dir = self.host_dir / DUTS_DIR / name
            if self.is_shared and StateStore(state_dir).exists():
                dut = self._attach(new, state_dir)
            else:
                dut = self._create(new, state_dir)
        if not console_alive(dut.state_dir):
            Path(dut.console_port).unlink(missing_ok=True)  # a dead console's port
            self._start_console(dut)
        self._duts[name] = dut
        return dut

    def _create(self, new: _NewDut, state_dir: Path) -> SimDut:
        """A DUT new to this host: its state, on the next free USB port."""
        keep = new.keep
        kept = keep is not None and (keep / "dut" / "state.json").is_file()
        port = self._port_for(new)
        if keep is not None:
            (keep / "dut").mkdir(parents=True, exist_ok=True)
            if state_dir.is_symlink():  # left by a host that died: the kept folder is the DUT
                state_dir.unlink()
            state_dir.symlink_to((keep / "dut").absolute(), target_is_directory=True)
        state_dir.mkdir(parents=True, exist_ok=True)
        tree = self._tree_of(new, state_dir)
        link = state_dir / console.port_name(new.board.key)
        link.unlink(missing_ok=True)
        boot_device = new.boot_device or new.board.default_boot_device
        start = new.start
        image = _bench_image(tree, boot_device, new.user) if start in ("booted", "off") else None
        state = initial_state(
            new.name,
            new.board,
            tree.release,
            port,
            link,
            faults=new.faults,
            speed=new.speed,
            start=start,
            image=image,
            tcu_seed=new.tcu_seed,
        )
        if kept:
            old = StateStore(state_dir).read()
            state = dataclasses.replace(state, flashed=old.flashed, mode=old.mode)
        StateStore(state_dir).write(state)
        return self._sim_dut(new, state, tree, state_dir, boot_device)

    def _port_for(self, new: _NewDut) -> str:
        """The port ``new`` asks for (refused when another DUT is plugged there), else its hint
        when free, else the first free one."""
        taken = {StateStore(d).read().usb_port: d.name for d in host_state_dirs(self.host_dir)}
        if new.usb_port is not None:
            if new.usb_port in taken:
                raise UsageError(
                    f"simulated DUT {new.name!r} cannot be on USB port {new.usb_port}: "
                    f"{taken[new.usb_port]} is plugged there"
                )
            return new.usb_port
        if new.port_hint is not None and new.port_hint not in taken:
            return new.port_hint
        number = FIRST_PORT
        while f"{USB_BUS}-{number}" in taken:
            number += 1
        return f"{USB_BUS}-{number}"

    def _attach(self, new: _NewDut, state_dir: Path) -> SimDut:
        """A DUT another process added to this shared host: found as that process left it
        (power, recovery, what was flashed); this session's faults and speed apply."""
        store = StateStore(state_dir)
        state = store.read()
        if state.board != new.board.key:
            raise UsageError(
                f"simulated DUT {new.name!r} is on this host as a {state.board}: it cannot "
                f"also be a {new.board.key}"
            )
        state = store.replace(
            faults=new.faults,
            speed=new.speed,
            tcu_seed=new.tcu_seed,
            eeprom=faulty_eeprom(new.board.eeprom, new.faults),
        )
        tree = self._tree_of(new, state_dir)
        boot_device = new.boot_device or new.board.default_boot_device
        return self._sim_dut(new, state, tree, state_dir, boot_device)

    def _sim_dut(
        self, new: _NewDut, state: DutState, tree: SimTree, state_dir: Path, boot_device: str
    ) -> SimDut:
        return SimDut(
            name=new.name,
            board=new.board,
            release=tree.release,
            tree=tree,
            lft=tree.lft,
            state_dir=state_dir,
            console_port=state.console_port,
            usb_port=state.usb_port,
            boardctl_target=BOARDCTL_TARGETS[new.board.chip.catalogue_id],
            boardctl_serial=topo_serial(state),
            profile_path=self._write_profile(new.name, new.board, tree, boot_device, new.keep),
        )

    def _tree_of(self, new: _NewDut, state_dir: Path) -> SimTree:
        return self._tree(
            new.tree_name, new.board, new.release, new.faults, state_dir, keep=new.keep
        )

    def _tree(
        self,
        key: str,
        sim_board: SimBoard,
        release: str | None,
        faults: tuple[str, ...],
        state_dir: Path,
        *,
        keep: Path | None = None,
    ) -> SimTree:
        """The tree ``key``: built (with its faults and tools) the first time; found when this
        host (another process sharing it, or under ``keep`` a past session) built it. Its
        tools act on the host's DUTs through a DUT that is on the host now."""
        board = sim_board.key
        if key in self._trees:
            owner, tree = self._trees[key]
            _check_tree(key, owner, tree.release, board, release)
            return tree
        images = (keep or self.workdir) / "images" / key
        note = images / TREE_NOTE
        built = note.is_file() or (
            keep is not None and (images / "Linux_for_Tegra" / "rootfs").is_dir()
        )
        if built:
            tree = kept_tree(images, sim_board)
            owner = json.loads(note.read_text())["board"] if note.is_file() else board
            _check_tree(key, owner, tree.release, board, release)
            if not _tools_on_the_host(tree.lft):
                install_tools(tree.lft, state_dir, release=tree.release)
        else:
            tree = make_tree(images, board, release=release)
            apply_tree_faults(tree.lft, faults)
            install_tools(tree.lft, state_dir, release=tree.release)
            note.write_text(json.dumps({"board": board, "release": tree.release}) + "\n")
        self._trees[key] = (board, tree)
        return tree

    def known_good_tree(self, name: str, *, keep: Path | None = None) -> SimTree:
        """A second tree of DUT ``name``'s board and release, without tree faults: the image
        its recovery ladder's ``reflash`` rung flashes (built once; under ``keep`` it is kept
        across sessions like the DUT's own)."""
        dut = self._duts[name]
        key = f"{name}-known-good"
        return self._tree(key, dut.board, dut.release, (), dut.state_dir, keep=keep)

    def usb_backend(self) -> SimUsbBackend:
        """A pyusb backend showing this host's simulated USB devices."""
        return SimUsbBackend(self.host_dir)

    def set_faults(self, name: str, faults: Iterable[str]) -> DutState:
        """Change a DUT's runtime faults (tools and console); tree faults stay as built."""
        chosen = check_faults(faults)
        return self._duts[name].store.replace(faults=chosen)

    def set_speed(self, name: str, speed: float) -> DutState:
        """Change a DUT's speed factor (larger is faster)."""
        return self._duts[name].store.replace(speed=speed)

    def console_pids(self) -> dict[str, int]:
        """The console process id of each DUT."""
        return {name: p.pid for name, p in self._consoles.items()}

    def release(self, name: str) -> None:
        """Hand DUT ``name`` back: stop the console this process runs for it (the DUT stays
        on the host, as a board stays on the bench; the next process to add it starts a new
        console). A DUT whose console another process runs is left alone."""
        proc = self._consoles.pop(name, None)
        if proc is not None:
            _stop([proc])
            self._forget_console(name)

    def _forget_console(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            Path(self._duts[name].console_port).unlink()
        (self._duts[name].state_dir / CONSOLE_PID).unlink(missing_ok=True)

    def close(self) -> None:
        """Stop every console process this process runs and remove its port; leave a shared
        host (the last process removes it). Safe to call again."""
        if self._closed:
            return
        self._closed = True
        _stop(list(self._consoles.values()))
        for name in self._consoles:
            self._forget_console(name)
        self._consoles.clear()
        if not self.is_shared:
            for dut in self._duts.values():
                with contextlib.suppress(FileNotFoundError):
                    Path(dut.console_port).unlink()
        if self._membership is not None:
            self._membership.leave()
        atexit.unregister(self.close)

    def _start_console(self, dut: SimDut) -> None:
        log = dut.state_dir / "console.log"
        proc = console.start(dut.state_dir, log=log)
        self._consoles[dut.name] = proc
        deadline = time.monotonic() + CONSOLE_START_SECONDS
        link = Path(dut.console_port)
        while not link.is_symlink():
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace").splitlines()[-10:] if log.exists() else []
                proc.kill()
                proc.wait()
                del self._consoles[dut.name]
                raise BenchError(
                    f"the simulated console of {dut.name} did not publish {link} within "
                    f"{CONSOLE_START_SECONDS:.0f} s (exit code {proc.poll()}); last lines of "
                    f"{log}:\n" + "\n".join(tail)
                )
            time.sleep(0.005)
        (dut.state_dir / CONSOLE_PID).write_text(f"{proc.pid}\n")

    def _write_profile(
        self, name: str, board: SimBoard, tree: SimTree, boot_device: str, keep: Path | None
    ) -> Path:
        profiles = (keep or self.workdir) / "profiles"
        profiles.mkdir(parents=True, exist_ok=True)
        path = profiles / f"{name}.yaml"
        data = {
            "reference_devkit": board.reference_devkit(),
            "bsp_image": {
                "root_path": os.path.relpath(tree.root, profiles),
                "version": tree.release,
            },
            "boot_device": boot_device,
        }
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path


@dataclass(frozen=True)
class _NewDut:
    """What :meth:`SimHost.add_dut` was asked for."""

    name: str
    board: SimBoard
    release: str | None
    faults: tuple[str, ...]
    speed: float
    boot_device: str | None
    start: Start
    user: tuple[str, str] | None
    tcu_seed: int
    tree_name: str
    keep: Path | None
    usb_port: str | None = None
    port_hint: str | None = None


def _check_tree(key: str, owner: str, tree_release: str, board: str, release: str | None) -> None:
    if owner != board or (release is not None and release != tree_release):
        raise UsageError(
            f"simulated tree {key!r} is a {owner} {tree_release} tree: a {board} "
            f"{release or ''} DUT cannot share it"
        )


def _tools_on_the_host(lft: Path) -> bool:
    """Whether the tree's tools act through a DUT whose state exists now (a kept tree's
    tools still name the DUT of the host that built it, gone with that host)."""
    marker = lft / MARKER
    if not marker.is_file():
        return False
    state_dir = Path(json.loads(marker.read_text())["state_dir"])
    return StateStore(state_dir).exists()


def console_alive(state_dir: Path) -> bool:
    """Whether a console process serves the DUT in ``state_dir`` now (its pid file names a
    live ``pytest_jetson.sim.console`` of this state dir)."""
    try:
        pid = int((state_dir / CONSOLE_PID).read_text())
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return False
    return console.__name__.encode() in argv and str(state_dir).encode() in argv


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM each console's process group; SIGKILL what has not ended in time."""
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + CONSOLE_STOP_SECONDS
    for proc in procs:
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def initial_state(
    name: str,
    board: SimBoard,
    release: str,
    usb_port: str,
    console_port: Path,
    *,
    faults: tuple[str, ...] = (),
    speed: float = 1.0,
    start: Start = "factory",
    image: Flashed | None = None,
    tcu_seed: int = 0,
) -> DutState:
    """The DUT as the session finds it: by default powered on and running its factory image,
    as it arrives on the bench; ``booted``/``off`` run ``image``, ``blank`` has nothing.
    ``tcu_seed`` seeds its console's combined-UART interleaving."""
    flashed: Flashed | None = None
    if start == "factory":
        flashed = factory_image(RELEASES[_factory_release(board, release)])
    elif start in ("booted", "off"):
        flashed = image
    mode: Mode = "off" if start == "off" else "on"
    return DutState(
        name=name,
        board=board.key,
        chip=board.chip.catalogue_id,
        eeprom=faulty_eeprom(board.eeprom, faults),
        usb_bus=int(usb_port.split("-")[0]),
        usb_port=usb_port,
        console_port=str(console_port),
        mode=mode,
        flashed=flashed,
        faults=faults,
        speed=speed,
        serial_number=hashlib.sha256(name.encode()).hexdigest()[:8].upper(),
        tcu_seed=tcu_seed,
    )


def _bench_image(tree: SimTree, boot_device: str, user: tuple[str, str] | None) -> Flashed:
    """The tree as the flow tool NVIDIA's matrix picks wrote it (flash.sh for Orin eMMC/SD,
    l4t_initrd_flash.sh for NVMe/USB and for Thor)."""
    board = tree.board
    internal = boot_device == "internal" or boot_device.startswith("mmcblk")
    tool = "flash.sh" if board.chip.catalogue_id == "t234" and internal else "l4t_initrd_flash.sh"
    return bench_image(
        tree.lft,
        board=board.devkit_conf.removesuffix(".conf"),
        sku=board.eeprom.sku,
        fab=board.eeprom.fab,
        boot_device=boot_device,
        tool=tool,
        tree=tree.sim_release,
        user=user,
    )


def kept_tree(dest: Path, board: SimBoard) -> SimTree:
    """The tree a previous session built at ``dest`` (its release from its rootfs)."""
    from pytest_jetson.lft.release import parse_nv_tegra_release

    lft = dest / "Linux_for_Tegra"
    text = (lft / "rootfs" / "etc" / "nv_tegra_release").read_text()
    version = parse_nv_tegra_release(text).version
    return SimTree(root=dest, lft=lft, board=board, release=version)


def _factory_release(board: SimBoard, tree_release: str) -> str:
    """What the DUT runs before its first flash: another release than the tree's if any."""
    others = [r for r in board.releases if r != tree_release]
    return others[0] if others else tree_release
