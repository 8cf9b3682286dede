"""The simulator's part of a bench: its built-in DUTs and the inventory's ``sim:`` block.

A ``sim:`` block (``{board, release, faults, tree, state, debugger}``) makes an inventory entry
a simulated DUT; it needs no ``profile`` (the simulated tree comes with one). The loader reads
it through the :class:`~pytest_jetson.bench.EntryBlock` below, given by the simulator's pytest
plugin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pytest_jetson.bench import EntryBlock
from pytest_jetson.yamlfile import MapReader

SIM_BOARDS: dict[str, str] = {
    "sim-orin": "orin-agx",
    "sim-orin-nano": "orin-nano",
    "sim-thor": "thor-agx",
    "sim-orin-carrier": "orin-agx",
}
"""Built-in simulated DUT name → simulated board (``sim-orin-carrier``: an AGX Orin with a
custom carrier declared and a source workspace to derive it in)."""
BUILTIN_PORTS: dict[str, str] = {name: f"1-{4 + n}" for n, name in enumerate(SIM_BOARDS)}
"""Built-in simulated DUT name → the USB port it sits on when free (``sim-orin`` on ``1-4``,
``sim-orin-nano`` on ``1-5``...): a bench board stays on its port, so the port in its plan, and
the plan's digest, do not depend on which DUT of a session reached the shared host first."""

SIM_DUTS: tuple[str, ...] = tuple(SIM_BOARDS)
"""DUT names reserved for the built-in simulated DUTs."""

BOOT_DEVICES: dict[str, str] = {"orin-nano": "nvme0n1p1"}
"""Simulated board → the boot device its plugin DUTs flash: the simulated Orin Nano boots from
NVMe, so the built-in DUTs exercise the initrd flow (``l4t_initrd_flash.sh``)."""


@dataclass(frozen=True)
class SimSpec:
    """A simulated DUT: which board, which release, which faults."""

    board: str
    release: str | None = None
    faults: tuple[str, ...] = ()
    tree: str | None = None
    """DUTs of one board naming the same tree share one Linux_for_Tegra tree on the host."""
    state: str | None = None
    """A folder (relative to the inventory) keeping the DUT across sessions: its tree, what
    was flashed and its power state; None: a fresh DUT every session."""
    debugger: Literal["named", "unnamed"] = "named"
    """``named``: the entry carries its TOPO's serial (boardctl ``-s``), as an inventory should.
    ``unnamed``: it names no debugger, as an inventory written without ``boardctl_serial``; on a
    host with several debuggers R36.2's boardctl then drives the first TOPO it finds and R38+
    refuses (what the inventory check prevents for real entries)."""


def parse_sim_block(block: MapReader) -> SimSpec:
    """Read an inventory entry's ``sim:`` block."""
    block.allow(("board", "release", "faults", "tree", "state", "debugger"))
    debugger_node = block.node_of("debugger")
    debugger = (
        "named"
        if debugger_node is None
        else block.choice("debugger", debugger_node, ("named", "unnamed"))
    )
    return SimSpec(
        debugger=debugger,  # type: ignore[arg-type]
        board=block.text("board"),
        release=block.opt_text("release"),
        faults=block.str_list("faults"),
        tree=block.opt_text("tree"),
        state=block.opt_text("state"),
    )


SIM_BLOCK = EntryBlock(
    key="sim",
    parse=parse_sim_block,
    provides_profile=True,
    wires_entry=True,
    reserved=SIM_DUTS,
    reserved_why="is reserved for the built-in simulated DUT; declare your own simulated "
    "entries under another name with a `sim:` block",
)
"""The ``sim:`` block of the bench inventory."""
