"""The ``labgrid:`` block of a bench inventory entry: which place, how to lock it, where the
in-tree tools live on the bench host.

::

    duts:
      orin-03:
        profile: jetson-agx-orin-devkit
        labgrid:
          coordinator: lab-coordinator:20408
          place: orin-03                 # or: reserve: {tags: {board: agx_orin}}
          lft: /srv/jetson/r36.4.3/Linux_for_Tegra
          names: {console: console, rcm: rcm, topo: topo}
          lock_wait_s: 600
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from pytest_jetson.errors import excerpt
from pytest_jetson.inputs import MAX_SECONDS, seconds_problem
from pytest_jetson.yamlfile import MapReader

DEFAULT_PORT = 20408
"""labgrid's coordinator port when the address names none."""
DEFAULT_LOCK_WAIT_S = 60.0
_TAG_KEY = re.compile(r"[a-z][a-z0-9_]+")
_TAG_VALUE = re.compile(r"[A-Za-z0-9_.-]+")
_RESOURCE_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_ADDRESS = re.compile(r"(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+)(:[0-9]{1,5})?")


@dataclass(frozen=True)
class ResourceNames:
    """Names of the place's resources (after a match's rename) pytest-jetson uses."""

    console: str = "console"
    """The NetworkSerialPort of the DUT's debug UART."""
    rcm: str = "rcm"
    """The USB device on the DUT's recovery port (e.g. a USBFlashableDevice)."""
    topo: str | None = None
    """The board-automation MCU (TOPO, 0955:7045), checked for presence when named."""


@dataclass(frozen=True)
class LabgridSpec:
    """How a bench entry reaches its DUT through labgrid."""

    coordinator: str
    """``host:port`` of the labgrid coordinator (port 20408 when not given)."""
    lft: PurePosixPath
    """The Linux_for_Tegra tree on the bench (exporter) host."""
    place: str | None = None
    """The place to acquire, or None when a reservation by ``reserve_tags`` picks it."""
    reserve_tags: tuple[tuple[str, str], ...] = ()
    """Tags a reservation must match (sorted pairs), when no ``place`` is named."""
    names: ResourceNames = field(default_factory=ResourceNames)
    lock_wait_s: float = DEFAULT_LOCK_WAIT_S
    """How long to wait for a place held by someone else before failing."""

    @property
    def target(self) -> str:
        """What is locked, for messages: ``place orin-03`` or ``a place tagged board=x``."""
        if self.place is not None:
            return f"place {self.place}"
        tags = ", ".join(f"{k}={v}" for k, v in self.reserve_tags)
        return f"a place tagged {tags}"


def parse_labgrid(entry: MapReader) -> LabgridSpec | None:
    """The validated ``labgrid:`` block of one inventory entry, or None when it has none.

    Errors (:class:`~pytest_jetson.errors.InventoryError` through ``entry``) name the file,
    line and key.
    """
    block = entry.opt_map("labgrid")
    if block is None:
        return None
    block.allow(("coordinator", "place", "reserve", "lft", "names", "lock_wait_s"))
    coordinator = block.text("coordinator")
    if not _ADDRESS.fullmatch(coordinator):
        raise block.error(f"expected host[:port], got {excerpt(coordinator)}", key="coordinator")
    if ":" not in coordinator.rsplit("]", 1)[-1]:
        coordinator = f"{coordinator}:{DEFAULT_PORT}"
    place = block.opt_text("place")
    tags = _reserve_tags(block)
    if (place is None) == (not tags):
        raise block.error("give exactly one of `place` and `reserve: {tags: {...}}`")
    if place is not None and not _RESOURCE_NAME.fullmatch(place):
        raise block.error(f"invalid place name {excerpt(place)}", key="place")
    lft = PurePosixPath(block.text("lft"))
    if not lft.is_absolute():
        raise block.error(
            f"expected an absolute path on the bench host, got {excerpt(str(lft))}", key="lft"
        )
    wait = _lock_wait(block)
    return LabgridSpec(
        coordinator=coordinator,
        lft=lft,
        place=place,
        reserve_tags=tags,
        names=_names(block),
        lock_wait_s=DEFAULT_LOCK_WAIT_S if wait is None else wait,
    )


def _lock_wait(block: MapReader) -> float | None:
    text = block.opt_text("lock_wait_s")
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise block.error(f"expected seconds, got {excerpt(text)}", key="lock_wait_s") from None
    if seconds_problem(value, zero_ok=True) is not None:
        raise block.error(
            f"expected seconds >= 0 and at most {MAX_SECONDS:.0f} (a week), got {excerpt(text)}",
            key="lock_wait_s",
        )
    return value


def _reserve_tags(block: MapReader) -> tuple[tuple[str, str], ...]:
    reserve = block.opt_map("reserve")
    if reserve is None:
        return ()
    reserve.allow(("tags",))
    tags = reserve.map("tags")
    pairs = []
    for key in tags:
        value = tags.text(key)
        if not _TAG_KEY.fullmatch(key):
            raise tags.error(f"invalid tag name {excerpt(key)} (labgrid: [a-z][a-z0-9_]+)", key=key)
        if not _TAG_VALUE.fullmatch(value):
            raise tags.error(f"invalid tag value {excerpt(str(value))}", key=key)
        pairs.append((key, value))
    if not pairs:
        raise reserve.error("expected at least one tag", key="tags")
    return tuple(sorted(pairs))


def _names(block: MapReader) -> ResourceNames:
    names = block.opt_map("names")
    if names is None:
        return ResourceNames()
    names.allow(("console", "rcm", "topo"))
    found: dict[str, str] = {}
    for key in ("console", "rcm", "topo"):
        value = names.opt_text(key)
        if value is None:
            continue
        if not _RESOURCE_NAME.fullmatch(value):
            raise names.error(f"invalid resource name {excerpt(str(value))}", key=key)
        found[key] = value
    defaults = ResourceNames()
    return ResourceNames(
        console=found.get("console", defaults.console),
        rcm=found.get("rcm", defaults.rcm),
        topo=found.get("topo", defaults.topo),
    )
