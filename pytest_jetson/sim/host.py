"""One simulated host with its DUTs: trees, tools, state, USB view and console processes.

``SimHost(workdir)`` is what the plugin builds for ``--dut=sim-*`` and for simulated bench
entries::

    with SimHost(tmp_path) as host:
        dut = host.add_dut("sim-orin", "orin-agx", faults=("flash_fail",))
        backend = host.usb_backend()       # hand to the product's RCM detection
        dut.console_port                   # a pty path pyserial opens

Every console process dies with :meth:`SimHost.close`, at interpreter exit, and when the
owning process is killed outright (the console watches its parent).
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
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
from pytest_jetson.sim.image import bench_image, factory_image
from pytest_jetson.sim.state import DUTS_DIR, DutState, Flashed, Mode, StateStore, topo_serial
from pytest_jetson.sim.tools import install_tools
from pytest_jetson.sim.tree import SimTree, make_tree
from pytest_jetson.sim.usb import SimUsbBackend

FIRST_PORT = 4
"""The first DUT sits on ``1-4``, the next on ``1-5``, ..."""
USB_BUS = 1
BOARDCTL_TARGETS = {"t234": "topo", "t264": "thor-jetson-module"}
"""The boardctl target of each chip's devkit (R38+: ``topo`` is the Orin TOPO driver)."""
CONSOLE_START_SECONDS = 10.0
CONSOLE_STOP_SECONDS = 3.0

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

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir).absolute()
        self.host_dir = self.workdir / "host"
        (self.host_dir / DUTS_DIR).mkdir(parents=True, exist_ok=True)
        self._duts: dict[str, SimDut] = {}
        self._trees: dict[str, tuple[str, SimTree]] = {}
        self._consoles: dict[str, subprocess.Popen[bytes]] = {}
        self._closed = False
        atexit.register(self.close)

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
        """
        if start not in STARTS:
            raise UsageError(f"unknown simulated start {start!r} (valid: {', '.join(STARTS)})")
        if self._closed:
            raise UsageError("this simulated host is closed")
        if name in self._duts:
            raise UsageError(f"simulated DUT {name!r} already exists on this host")
        chosen = check_faults(faults)
        sim_board = board_by_key(board)
        kept = keep is not None and (keep / "dut" / "state.json").is_file()
        state_dir = self.host_dir / DUTS_DIR / name
        if keep is not None:
            (keep / "dut").mkdir(parents=True, exist_ok=True)
            state_dir.symlink_to((keep / "dut").absolute(), target_is_directory=True)
        state_dir.mkdir(parents=True, exist_ok=True)
        tree = self._tree(tree_name or name, board, release, chosen, state_dir, keep)
        port = f"{USB_BUS}-{FIRST_PORT + len(self._duts)}"
        link = state_dir / console.port_name(board)
        link.unlink(missing_ok=True)
        boot_device = default_boot_device or sim_board.default_boot_device
        image = _bench_image(tree, boot_device, user) if start in ("booted", "off") else None
        state = initial_state(
            name,
            sim_board,
            tree.release,
            port,
            link,
            faults=chosen,
            speed=speed,
            start=start,
            image=image,
            tcu_seed=tcu_seed,
        )
        if kept:
            old = StateStore(state_dir).read()
            state = dataclasses.replace(state, flashed=old.flashed, mode=old.mode)
        StateStore(state_dir).write(state)
        dut = SimDut(
            name=name,
            board=sim_board,
            release=tree.release,
            tree=tree,
            lft=tree.lft,
            state_dir=state_dir,
            console_port=str(link),
            usb_port=port,
            boardctl_target=BOARDCTL_TARGETS[sim_board.chip.catalogue_id],
            boardctl_serial=topo_serial(state),
            profile_path=self._write_profile(name, sim_board, tree, boot_device, keep),
        )
        self._start_console(dut)
        self._duts[name] = dut
        return dut

    def _tree(
        self,
        key: str,
        board: str,
        release: str | None,
        faults: tuple[str, ...],
        state_dir: Path,
        keep: Path | None = None,
    ) -> SimTree:
        """The tree named ``key``: built (with its faults and tools) the first time; under
        ``keep`` it is built once across sessions and found there later."""
        if key in self._trees:
            owner, tree = self._trees[key]
            if owner != board or (release is not None and release != tree.release):
                raise UsageError(
                    f"simulated tree {key!r} is a {owner} {tree.release} tree: a {board} "
                    f"{release or ''} DUT cannot share it"
                )
            return tree
        images = (keep or self.workdir) / "images" / key
        if keep is not None and (images / "Linux_for_Tegra" / "rootfs").is_dir():
            tree = kept_tree(images, board_by_key(board))
        else:
            tree = make_tree(images, board, release=release)
            apply_tree_faults(tree.lft, faults)
        install_tools(tree.lft, state_dir, release=tree.release)
        self._trees[key] = (board, tree)
        return tree

    def known_good_tree(self, name: str, *, keep: Path | None = None) -> SimTree:
        """A second tree of DUT ``name``'s board and release, without tree faults: the image
        its recovery ladder's ``reflash`` rung flashes (built once; under ``keep`` it is kept
        across sessions like the DUT's own)."""
        dut = self._duts[name]
        key = f"{name}-known-good"
        return self._tree(key, dut.board.key, dut.release, (), dut.state_dir, keep)

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

    def close(self) -> None:
        """Stop every console process and remove its port; safe to call again."""
        if self._closed:
            return
        self._closed = True
        for proc in self._consoles.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + CONSOLE_STOP_SECONDS
        for proc in self._consoles.values():
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for dut in self._duts.values():
            with contextlib.suppress(FileNotFoundError):
                Path(dut.console_port).unlink()
        self._consoles.clear()
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
                raise BenchError(
                    f"the simulated console of {dut.name} did not publish {link} within "
                    f"{CONSOLE_START_SECONDS:.0f} s (exit code {proc.poll()}); last lines of "
                    f"{log}:\n" + "\n".join(tail)
                )
            time.sleep(0.005)

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
        serial_number=f"{sum(name.encode()) * 104729 % 10**12:012d}",
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
