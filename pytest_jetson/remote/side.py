"""A DUT on a remote labgrid bench, as the session and the :class:`~pytest_jetson.dut.Dut` use it.

:class:`RemoteBench` owns the DUT's :class:`~pytest_jetson.remote.labgrid.LabgridPlace`: it is
acquired when the session first uses the DUT (:meth:`RemoteBench.acquire`, waiting up to the
entry's ``lock_wait_s``; a place held by someone else is a :class:`BenchError` naming the
holder, never a kick) and released when the session ends, whatever happened
(:meth:`RemoteBench.release`, also registered with :mod:`atexit`). It is the DUT's
:class:`~pytest_jetson.drivers.side.BenchSide`: the SSH transport to the bench host, the local
view of the bench host's tree, RCM detection on the place's USB resource and the console URL.
"""

from __future__ import annotations

import atexit
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_jetson.drivers.side import DEFAULT_BAUD
from pytest_jetson.errors import BenchError

DIGEST_TIMEOUT = 300.0
"""Deadline of hashing the image files on the bench host (a kernel Image is tens of MB)."""

if TYPE_CHECKING:
    from pytest_jetson.bench import BenchEntry
    from pytest_jetson.catalogue import ChipFamily
    from pytest_jetson.drivers.usb import RcmDevice, RcmPort
    from pytest_jetson.flash.record import Records
    from pytest_jetson.host.transport import CommandTransport
    from pytest_jetson.remote.labgrid import LabgridPlace
    from pytest_jetson.remote.view import TreeView


class RemoteBench:
    """One bench entry's labgrid place and what the DUT layer needs from it.

    ``workdir`` is a private local folder (the tree view lives there); ``place`` overrides
    the :class:`LabgridPlace` built from the entry (tests pass one with a fixed identity).
    """

    def __init__(self, entry: BenchEntry, workdir: Path, *, place: LabgridPlace | None = None):
        if entry.labgrid is None:
            raise ValueError(f"bench entry {entry.name} has no labgrid block")
        self.entry = entry
        self.spec = entry.labgrid
        self.workdir = Path(workdir)
        self._place = place
        self._view: TreeView | None = None
        self._host: str | None = None

    @property
    def place(self) -> LabgridPlace:
        """The labgrid place (built on first use; labgrid is imported then)."""
        if self._place is None:
            from pytest_jetson.remote.labgrid import LabgridPlace

            self._place = LabgridPlace(self.spec, dut=self.entry.name)
        return self._place

    @property
    def lft(self) -> Path:
        """The Linux_for_Tegra tree on the bench host (where the tools run)."""
        return Path(self.spec.lft)

    def acquire(self, *, on_wait: Callable[[str], None] | None = None) -> None:
        """Acquire the place (see :meth:`LabgridPlace.acquire`) and note the bench host.

        On failure everything opened is closed again and the error goes on.
        """
        atexit.register(self.release)
        if on_wait is not None:
            on_wait(
                f"DUT {self.entry.name}: acquiring {self.spec.target} on the labgrid "
                f"coordinator {self.spec.coordinator} (waiting up to {self.spec.lock_wait_s:g} s)"
            )
        try:
            self.place.acquire()
            self._host = self.place.bench_host
        except BaseException:
            self.release()
            raise

    def release(self) -> str | None:
        """Release the place and close the connections; never raises, idempotent."""
        atexit.unregister(self.release)
        if self._place is None:
            return None
        return self.place.release()

    def problem(self) -> str | None:
        """Why the place can no longer be used (lost lock, exporter gone), or None."""
        if self._place is None:
            return None
        return self.place.problem()

    @property
    def host(self) -> str:
        """The bench (exporter) host."""
        if self._host is None:
            self._host = self.place.bench_host
        return self._host

    @property
    def where(self) -> str:
        """``host:/path/Linux_for_Tegra``: where the image is flashed from."""
        return f"{self.host}:{self.lft}"

    # --- seams (a BenchSide) ---------------------------------------------------------------

    @property
    def transport(self) -> CommandTransport:
        """Commands on the bench host (labgrid's SSH connection)."""
        return self.place.transport()

    def tree_view(self) -> TreeView:
        """The local view of the bench host's tree (fetched once)."""
        if self._view is None:
            from pytest_jetson.remote.view import fetch_view

            self.workdir.mkdir(parents=True, exist_ok=True)
            self._view = fetch_view(self.transport, self.spec.lft, self.workdir / "lft-view")
        return self._view

    @property
    def view(self) -> Path:
        """The local view of the bench host's tree, which the pytest host reads."""
        return self.tree_view().local

    def outward(self, text: str) -> str:
        """``text`` with the view's paths shown as the bench host's."""
        return self.tree_view().outward(text)

    @property
    def usb(self) -> RcmPort:
        """The place's USB resource."""
        return self.place

    def find_rcm(self, chip: ChipFamily) -> RcmDevice | None:
        """The DUT in RCM on the place's USB resource, or None."""
        return self.place.find_rcm(chip)

    def usb_instance(self, seen: RcmDevice | None) -> str | None:
        """The entry's ``usb_port`` when it names one, else the ``path`` of the place's USB
        resource as the RCM check saw it (the exporter's host numbers its own buses)."""
        if self.entry.usb_port is not None:
            return self.entry.usb_port
        return seen.port_path if seen is not None and seen.port_path else None

    def file_digests(self, paths: Sequence[str]) -> dict[str, str]:
        """``sha256sum`` of the files on the bench host, run in its tree (paths as argv after
        ``--``); a file it cannot read is left out (sha256sum reports it and exits 1)."""
        if not paths:
            return {}
        from pytest_jetson.host.command import Command

        result = self.transport.run(
            Command(
                ["sha256sum", "--", *paths],
                cwd=self.lft,
                timeout=DIGEST_TIMEOUT,
                what=f"hashing {len(paths)} files of the tree on the bench host",
            )
        )
        wanted = set(paths)
        found = {}
        for line in result.lines:
            digest, _, name = line.strip().partition("  ")
            if name in wanted and len(digest) == 64:
                found[name] = digest
        return found

    def tree_changed(self) -> None:
        """Fetch the view again when it is next read."""
        self._view = None

    def host_records(self, dut: str) -> Records:
        """The place's tags: the record of the board on the place, whichever client flashed
        it (the place is the remote DUT's only lock, so there is no lock folder)."""
        from pytest_jetson.remote.placerecord import PlaceRecords

        return PlaceRecords(self.place, dut)

    def console_port(self) -> tuple[str, int]:
        """The place's network serial port as a pyserial ``rfc2217://`` URL, and the entry's
        baud rate."""
        serial = self.entry.serial
        return self.place.console_url(), serial.baud if serial is not None else DEFAULT_BAUD

    def check(self) -> None:
        """Raise :class:`BenchError` when :meth:`problem` reports one."""
        reason = self.problem()
        if reason is not None:
            raise BenchError(f"DUT {self.entry.name}: {reason}")


def attach(session: Any, dut: Any, bench: RemoteBench) -> None:
    """Acquire ``bench``, the remote side of ``dut`` (a :class:`~pytest_jetson.dut.Dut` of a
    ``labgrid:`` entry), now; release it when ``session`` (a
    :class:`~pytest_jetson.plugin.session.JetsonSession`) closes, whatever happens.

    When the place cannot be had (held by someone else past ``lock_wait_s``, coordinator
    unreachable) the DUT is latched broken with the reason and the :class:`BenchError` goes on.
    """

    def close() -> None:
        dut.close()  # the console first, while the place is still ours
        bench.release()

    session.on_close(close)
    try:
        bench.acquire(on_wait=session.emit)
    except BenchError as exc:
        dut.latch_broken(f"labgrid: {str(exc).splitlines()[0]}", exc)
        raise
