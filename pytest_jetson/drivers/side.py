"""A DUT's bench side: where its tools run, where its tree is, where it shows up in RCM.

Every driver takes a :class:`BenchSide` (never an optional one), so no driver asks whether the
bench is remote. Two implementations exist: :class:`LocalSide` (the DUT is wired to this host:
tools run through the local runner in the image's Linux_for_Tegra, RCM is read with pyusb) and
:class:`pytest_jetson.remote.side.RemoteBench` (a labgrid exporter reached over SSH: tools run
there in its tree, the pytest host reads a local view of that tree, RCM is the place's USB
resource).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pytest_jetson.drivers.usb import LocalUsb, RcmDevice, RcmPort
from pytest_jetson.errors import ConfigError
from pytest_jetson.host.transport import CommandTransport, LocalTransport

if TYPE_CHECKING:
    from pytest_jetson.bench import BenchEntry
    from pytest_jetson.flash.record import Records

DEFAULT_BAUD = 115200


def file_digests(lft: Path, paths: Sequence[str]) -> dict[str, str]:
    """SHA-256 (hex) of files under ``lft``, by relative path; unreadable ones left out."""
    found = {}
    for rel in paths:
        digest = hashlib.sha256()
        try:
            with (lft / rel).open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
        except OSError:
            continue
        found[rel] = digest.hexdigest()
    return found


class BenchSide(Protocol):
    """Where one DUT's bench tools run and what the pytest host reads of its tree."""

    @property
    def transport(self) -> CommandTransport:
        """Runs the in-tree tools (here, or on the bench host over SSH)."""
        ...

    @property
    def lft(self) -> Path:
        """The Linux_for_Tegra tree the tools run in (a path on the side that runs them)."""
        ...

    @property
    def view(self) -> Path:
        """The same tree as the pytest host can read it (conf chain, release, evidence)."""
        ...

    @property
    def where(self) -> str:
        """Where the image is flashed from, for reports: ``local`` or ``host:/path/LFT``."""
        ...

    @property
    def usb(self) -> RcmPort:
        """Where the DUT shows up in RCM."""
        ...

    def outward(self, text: str) -> str:
        """``text`` with paths of :attr:`view` shown as the side's own."""
        ...

    def usb_instance(self, seen: RcmDevice | None) -> str | None:
        """The port path the flow tool gets as ``--usb-instance``, given the device the RCM
        check saw (None before that check)."""
        ...

    def host_records(self, dut: str) -> Records | None:
        """Where the side keeps the DUT's host record of ``--jetson-flash=auto`` (a labgrid
        place, seen by every client), or None: the session keeps it next to the DUT's lock."""
        ...

    def file_digests(self, paths: Sequence[str]) -> dict[str, str]:
        """SHA-256 (hex) of files of :attr:`lft`, by path relative to it, read where the tree
        is (a view holds placeholders); a file that cannot be read is left out."""
        ...

    def tree_changed(self) -> None:
        """A tool changed the tree on its side: what was read of it (the view) is stale."""
        ...

    def console_port(self) -> tuple[str, int]:
        """The serial console's port (a device or a pyserial URL) and baud rate."""
        ...

    def problem(self) -> str | None:
        """Why the side can no longer be used (a lost labgrid place), or None."""
        ...


class LocalSide:
    """A DUT wired to this host: tools run here in ``lft``, which is also what the host reads.

    ``lft`` None means the profile names no image: using it is a :class:`ConfigError` saying
    ``missing``. ``usb_port``/``backend`` pick the DUT on the bus (see
    :class:`~pytest_jetson.drivers.usb.LocalUsb`); ``serial`` is ``(port, baud)`` of its
    console, None when the bench wires none.
    """

    def __init__(
        self,
        lft: Path | None,
        *,
        usb_port: str | None = None,
        backend: Any = None,
        serial: tuple[str, int] | None = None,
        transport: CommandTransport | None = None,
        missing: str = "no Linux_for_Tegra tree",
        name: str = "",
    ) -> None:
        self._lft = None if lft is None else Path(lft)
        self._usb = LocalUsb(usb_port, backend=backend)
        self._serial = serial
        self._transport = transport if transport is not None else LocalTransport()
        self._missing = missing
        self._name = name

    @classmethod
    def for_entry(cls, entry: BenchEntry, *, backend: Any = None) -> LocalSide:
        """The side of a bench entry wired to this host (its profile's image, its USB port,
        its console)."""
        image = entry.profile.bsp_image
        serial = None if entry.serial is None else (entry.serial.port, entry.serial.baud)
        return cls(
            None if image is None else image.lft,
            usb_port=entry.usb_port,
            backend=backend,
            serial=serial,
            missing=f"profile {entry.profile.path} has no bsp_image",
            name=entry.name,
        )

    def __repr__(self) -> str:
        return f"LocalSide({str(self._lft)!r})"

    @property
    def transport(self) -> CommandTransport:
        """The local runner."""
        return self._transport

    @property
    def lft(self) -> Path:
        """The image's Linux_for_Tegra (:class:`ConfigError` when the profile names none)."""
        if self._lft is None:
            raise ConfigError(self._missing, key="bsp_image")
        return self._lft

    @property
    def view(self) -> Path:
        """:attr:`lft` itself: the host reads the tree the tools run in."""
        return self.lft

    @property
    def where(self) -> str:
        """``local``."""
        return "local"

    @property
    def usb(self) -> LocalUsb:
        """This host's bus, on the DUT's port."""
        return self._usb

    def outward(self, text: str) -> str:
        """``text``: local paths are the side's own."""
        return text

    def usb_instance(self, seen: RcmDevice | None) -> str | None:
        """The bench entry's ``usb_port``: without one, the single Jetson in RCM on this host
        is the DUT and the tool needs no instance."""
        return self._usb.usb_port

    def host_records(self, dut: str) -> Records | None:
        """None: a DUT wired to this host has its record next to its lock file."""
        return None

    def file_digests(self, paths: Sequence[str]) -> dict[str, str]:
        """SHA-256 of the files of the local tree (unreadable ones left out)."""
        return file_digests(self.lft, paths)

    def tree_changed(self) -> None:
        """Nothing to forget: the host reads the tree itself."""

    def console_port(self) -> tuple[str, int]:
        """The bench entry's serial port (:class:`ConfigError` when it has none)."""
        if self._serial is None:
            raise ConfigError(f"bench entry {self._name} has no serial console", key="serial")
        return self._serial

    def problem(self) -> str | None:
        """None: this host does not go away."""
        return None
