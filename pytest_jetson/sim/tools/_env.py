"""What every simulated tool needs: its tree, its DUT's state, output and simulated time.

A tool finds its tree by walking up from its own path to the marker file that
:func:`pytest_jetson.sim.tools.install_tools` wrote (:data:`MARKER`); the marker names the DUT
state dir and the release. No environment variable is involved: the product runs the tools
with plain argv, exactly as on a real bench.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from pytest_jetson.sim.boards import BOARDS, RELEASES, SimBoard, SimRelease
from pytest_jetson.sim.state import DutState, StateStore, host_dir_of, host_state_dirs

MARKER = ".pytest_jetson_sim.json"
"""File at the top of a simulated LFT naming its DUT state dir and release."""


@dataclass(frozen=True)
class ToolEnv:
    """A tool's context: the LFT it lives in, its DUT's state store, the tree's release."""

    lft: Path
    store: StateStore
    release: SimRelease

    @property
    def state(self) -> DutState:
        """The DUT state now."""
        return self.store.read()

    @property
    def board(self) -> SimBoard:
        """The simulated board of this tree's DUT."""
        return BOARDS[self.state.board]

    def host_stores(self) -> list[StateStore]:
        """Every DUT on the same simulated host (this one included)."""
        dirs = host_state_dirs(host_dir_of(self.store.state_dir))
        if self.store.state_dir not in dirs:
            dirs = [self.store.state_dir]
        return [StateStore(d) for d in dirs]

    def rcm_devices(self, usb_instance: str | None = None) -> list[StateStore]:
        """The DUTs in RCM on this host (on port ``usb_instance`` when given)."""
        found = []
        for store in self.host_stores():
            state = store.read()
            if state.in_rcm and (usb_instance is None or state.usb_port == usb_instance):
                found.append(store)
        return found

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of simulated time (scaled by the DUT's speed factor)."""
        time.sleep(self.state.scaled(seconds))


def locate(script: str) -> ToolEnv:
    """The environment of the tool whose executable is ``script``."""
    here = Path(script).absolute().parent
    for d in (here, *here.parents):
        marker = d / MARKER
        if marker.is_file():
            data = json.loads(marker.read_text())
            return ToolEnv(d, StateStore(Path(data["state_dir"])), RELEASES[data["release"]])
    raise SystemExit(f"{script}: not inside a simulated Linux_for_Tegra tree (no {MARKER})")


def out(line: str = "") -> None:
    """Print one line on stdout, flushed (the product streams tool output)."""
    print(line, flush=True)


def err(line: str) -> None:
    """Print one line on stderr, flushed."""
    print(line, file=sys.stderr, flush=True)


def hang() -> None:
    """Hang forever, as a stuck tool does; the caller must kill it."""
    while True:
        time.sleep(3600)


class TegraflashClock:
    """Prints tegraflash-style ``[ %8.4f ] msg`` lines with a running timestamp."""

    def __init__(self, env: ToolEnv, step: float) -> None:
        self._env = env
        self._step = step
        self._t = 0.0

    def line(self, msg: str, real_seconds: float = 0.7) -> None:
        """Print ``msg`` after ``step`` of simulated time (stamped with made-up real seconds)."""
        self._env.sleep(self._step)
        self._t += real_seconds
        out(f"[ {self._t:8.4f} ] {msg}")
