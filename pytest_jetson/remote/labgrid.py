"""A DUT's labgrid place: the lock, the resources, RCM detection, the console URL and SSH.

:class:`LabgridPlace` talks to the coordinator with labgrid's own client session, run on an
event loop in a background thread so the place and resource state stays live while tests run:

* :meth:`LabgridPlace.acquire` takes the place (or a reservation by tags), waiting up to the
  spec's ``lock_wait_s`` while someone else holds it, then fails naming the holder; a held
  place is never kicked.
* :meth:`LabgridPlace.check` (between items) raises :class:`~pytest_jetson.errors.BenchError`
  when the place was taken away, the coordinator went away or the exporter disappeared;
  :meth:`LabgridPlace.problem` says the same without raising (the SSH watchdog polls it).
* :meth:`LabgridPlace.release` gives the place back (only if still ours) and cancels the
  reservation; it never raises, so it can run at session end whatever happened.
* :meth:`LabgridPlace.find_rcm` / :meth:`LabgridPlace.wait_for_rcm` read the place's USB
  resource (vendor 0x0955 on the DUT's port, RCM decided from the product id as locally);
  :meth:`LabgridPlace.console_url` is ``rfc2217://host:port`` of its NetworkSerialPort;
  :meth:`LabgridPlace.transport` runs commands on the exporter's host over labgrid's SSH
  connection, cut off when :meth:`LabgridPlace.problem` reports trouble.

The lock identity is ``<host>/<user>+<job>``: the CI job (GitLab ``CI_JOB_ID``, GitHub
``GITHUB_RUN_ID``/``GITHUB_RUN_ATTEMPT``) or else this process id, plus the xdist worker, so two
jobs of one user exclude each other. labgrid is imported here only, and lazily.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import getpass
import os
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pytest_jetson.catalogue import NVIDIA_VID, ChipFamily
from pytest_jetson.drivers.usb import RcmDevice, UsbDevice, UsbLook, poll_for_rcm, rcm_pattern
from pytest_jetson.errors import BenchError, ConfigError, DeadlineExceeded
from pytest_jetson.host.transport import SshTransport
from pytest_jetson.remote.spec import LabgridSpec

T = TypeVar("T")
CALL_TIMEOUT = 30.0
"""Deadline of one request to the coordinator."""
POLL = 0.25


def lock_identity(env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """``(host, user)`` as labgrid records the holder: the user part names the CI job or pid."""
    environ = os.environ if env is None else env
    if environ.get("CI_JOB_ID"):
        job = f"ci{environ['CI_JOB_ID']}"
    elif environ.get("GITHUB_RUN_ID"):
        job = f"gh{environ['GITHUB_RUN_ID']}.{environ.get('GITHUB_RUN_ATTEMPT', '1')}"
    else:
        job = f"pid{os.getpid()}"
    worker = environ.get("PYTEST_XDIST_WORKER")
    if worker:
        job += f".{worker}"
    user = environ.get("LG_USERNAME") or getpass.getuser()
    host = environ.get("LG_HOSTNAME") or socket.gethostname()
    return host.replace("/", "_"), f"{user}+{job}".replace("/", "_")


@dataclass(frozen=True)
class Holder:
    """Who holds a place, and since when (epoch seconds)."""

    identity: str
    since: float

    def __str__(self) -> str:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.since))
        return f"{self.identity} (since {stamp})"


def _own_channel(address: str) -> Any:
    """A gRPC channel with its own connection (labgrid's client options otherwise).

    gRPC shares one connection between channels of a process by default; the coordinator
    tells clients apart by their connection, so two places held from one process need two.
    """
    import grpc

    return grpc.aio.insecure_channel(
        target=address,
        options=[
            ("grpc.keepalive_time_ms", 7500),
            ("grpc.keepalive_timeout_ms", 10000),
            ("grpc.http2.ping_timeout_ms", 10000),
            ("grpc.http2.max_pings_without_data", 0),
            ("grpc.use_local_subchannel_pool", 1),
        ],
    )


class _LoopThread:
    """An asyncio loop running in a daemon thread; coroutines are submitted with a deadline."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="labgrid-client", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, factory: Callable[[], Coroutine[Any, Any, T]], timeout: float, what: str) -> T:
        future = asyncio.run_coroutine_threadsafe(factory(), self.loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise DeadlineExceeded(
                f"no answer from the labgrid coordinator to {what} within {timeout:g} s"
            ) from None

    def close(self) -> None:
        if self.loop.is_closed():
            return

        async def drain() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(drain(), self.loop).result(5.0)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5.0)
        if not self._thread.is_alive():
            self.loop.close()


class LabgridPlace:
    """One bench entry's place on a labgrid coordinator (see the module docstring).

    ``dut`` names the DUT in messages; ``identity`` overrides :func:`lock_identity`.
    """

    def __init__(
        self,
        spec: LabgridSpec,
        *,
        dut: str,
        identity: tuple[str, str] | None = None,
    ) -> None:
        self.spec = spec
        self.dut = dut
        self._host, self._user = identity or lock_identity()
        self._loop: _LoopThread | None = None
        self._session: Any = None
        self._place: str | None = spec.place
        self._token: str | None = None
        self._held = False
        self._ssh: Any = None
        self._transport: SshTransport | None = None

    @property
    def identity(self) -> str:
        """``host/user+job`` as the coordinator records this session."""
        return f"{self._host}/{self._user}"

    @property
    def place(self) -> str | None:
        """The place's name (known after :meth:`acquire` for a reservation)."""
        return self._place

    # --- connection -------------------------------------------------------------------------

    def connect(self) -> None:
        """Open the client session (labgrid imported here); BenchError when unreachable."""
        if self._session is not None:
            return
        try:
            from labgrid.remote.client import ClientSession
        except ImportError as exc:
            raise ConfigError(
                f"DUT {self.dut} is on a labgrid bench but labgrid is not installed: "
                "pip install 'pytest-jetson[labgrid]'"
            ) from exc
        host, user = self._host, self._user

        class _Session(ClientSession):  # type: ignore[misc]
            def __attrs_post_init__(self) -> None:
                super().__attrs_post_init__()
                self.shared_channel = getattr(self, "channel")  # noqa: B009 (untyped attrs)
                stub: Any = getattr(self, "stub")  # noqa: B009
                self.channel = _own_channel(self.address)
                self.stub = type(stub)(self.channel)

            def gethostname(self) -> str:
                return host

            def getuser(self) -> str:
                return user

        self._loop = _LoopThread()
        loop = self._loop.loop

        async def start() -> Any:
            session = _Session(address=self.spec.coordinator, loop=loop)
            await session.shared_channel.close()
            await session.start()
            return session

        try:
            self._session = self._loop.call(start, CALL_TIMEOUT, "the session start")
        except Exception as exc:
            self._loop.close()
            self._loop = None
            raise BenchError(
                f"cannot reach the labgrid coordinator {self.spec.coordinator} for DUT "
                f"{self.dut}: {exc}"
            ) from exc

    def _call(self, factory: Callable[[], Coroutine[Any, Any, T]], what: str) -> T:
        assert self._loop is not None
        return self._loop.call(factory, CALL_TIMEOUT, what)

    def _read(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the loop thread (the session's state is only changed there)."""

        async def wrapped() -> T:
            return fn()

        return self._call(wrapped, "a state read")

    # --- lock -------------------------------------------------------------------------------

    def acquire(self) -> str:
        """Acquire the place (or a reservation's place); returns the place name.

        Waits up to ``lock_wait_s`` while another holder has it, then raises BenchError naming
        the holder. Never kicks anyone.
        """
        self.connect()
        deadline = time.monotonic() + self.spec.lock_wait_s
        if self.spec.place is None:
            self._place = self._reserve(deadline)
        name = self._place
        assert name is not None
        while True:
            holder = self._holder(name)
            if holder is None and self._try_acquire(name):
                self._held = True
                self._require_resources()
                return name
            if time.monotonic() >= deadline:
                self._cancel_reservation()
                who = str(holder) if holder is not None else "someone else (it changed hands)"
                raise BenchError(
                    f"DUT {self.dut}: place {name} on {self.spec.coordinator} is held by {who}; "
                    f"waited {self.spec.lock_wait_s:g} s (lock_wait_s). This session is "
                    f"{self.identity}. It is never kicked: ask the holder, or raise lock_wait_s."
                )
            time.sleep(min(POLL * 2, max(deadline - time.monotonic(), 0.0)))

    def _holder(self, name: str) -> Holder | None:
        def read() -> Holder | None:
            place = self._session.places.get(name)
            if place is None:
                known = ", ".join(sorted(self._session.places)) or "(none)"
                raise ConfigError(
                    f"DUT {self.dut}: place {name} does not exist on the labgrid coordinator "
                    f"{self.spec.coordinator} (places: {known})",
                    key="labgrid.place",
                )
            if not place.acquired:
                return None
            return Holder(str(place.acquired), float(place.changed))

        return self._read(read)

    # --- tags -------------------------------------------------------------------------------

    def tags(self) -> dict[str, str]:
        """The place's tags as the coordinator last published them."""
        name = self._place_name()
        return self._read(lambda: dict(self._session.places[name].tags))

    def set_tags(self, changes: Mapping[str, str]) -> None:
        """Set the place's tags in one request (an empty value deletes the tag), then wait
        until this session sees them. The coordinator checks each key against
        ``[a-z][a-z0-9_]+``; a refusal is a :class:`BenchError`."""
        import grpc
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb2

        name = self._place_name()
        session = self._session
        request = pb2.SetPlaceTagsRequest(placename=name, tags=dict(changes))

        async def set_tags() -> None:
            try:
                await session.stub.SetPlaceTags(request)
            except grpc.aio.AioRpcError as exc:
                raise BenchError(
                    f"DUT {self.dut}: setting tags on place {name} failed: {exc.details()}"
                ) from None
            await session.sync_with_coordinator()

        self._call(set_tags, f"setting tags on place {name}")

    def _place_name(self) -> str:
        if self._session is None or self._place is None:
            raise BenchError(f"DUT {self.dut}: no labgrid session to its place")
        return self._place

    def _try_acquire(self, name: str) -> bool:
        import grpc
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb2

        session = self._session

        async def acquire() -> bool:
            try:
                await session.stub.AcquirePlace(pb2.AcquirePlaceRequest(placename=name))
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.FAILED_PRECONDITION and "already acquired" in (
                    exc.details() or ""
                ):
                    return False
                raise BenchError(
                    f"DUT {self.dut}: acquiring place {name} failed: {exc.details()}"
                ) from None
            await session.sync_with_coordinator()
            return True

        return self._call(acquire, f"acquiring place {name}")

    def _reserve(self, deadline: float) -> str:
        """Create a reservation for the spec's tags and wait for its allocation."""
        from labgrid.remote.common import Reservation, ReservationState
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb2

        stub = self._session.stub
        tags = dict(self.spec.reserve_tags)

        async def create() -> str:
            filters = {"main": pb2.Reservation.Filter(filter=tags)}
            response = await stub.CreateReservation(
                pb2.CreateReservationRequest(filters=filters, prio=0.0)
            )
            return str(Reservation.from_pb2(response.reservation).token)

        self._token = self._call(create, f"reserving {self.spec.target}")
        token = self._token

        async def poll() -> Any:
            response = await stub.PollReservation(pb2.PollReservationRequest(token=token))
            return Reservation.from_pb2(response.reservation)

        while True:
            reservation = self._call(poll, "polling the reservation")
            if reservation.state is ReservationState.allocated:
                return str(reservation.allocations["main"][0])
            if reservation.state is not ReservationState.waiting:
                raise BenchError(
                    f"DUT {self.dut}: the reservation for {self.spec.target} became "
                    f"{reservation.state.name}"
                )
            if time.monotonic() >= deadline:
                holders = self._tagged_holders(tags)
                self._cancel_reservation()
                raise BenchError(
                    f"DUT {self.dut}: no place tagged "
                    f"{', '.join(f'{k}={v}' for k, v in sorted(tags.items()))} became free on "
                    f"{self.spec.coordinator} within {self.spec.lock_wait_s:g} s (lock_wait_s); "
                    f"held by: {holders or '(no place has these tags)'}"
                )
            time.sleep(POLL * 2)

    def _tagged_holders(self, tags: Mapping[str, str]) -> str:
        def read() -> str:
            found = []
            for name, place in sorted(self._session.places.items()):
                if all(place.tags.get(k) == v for k, v in tags.items()):
                    held = (
                        str(Holder(str(place.acquired), float(place.changed)))
                        if place.acquired
                        else "free (reserved)"
                    )
                    found.append(f"{name}: {held}")
            return "; ".join(found)

        return self._read(read)

    def _cancel_reservation(self) -> None:
        token, self._token = self._token, None
        if token is None or self._session is None:
            return
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb2

        stub = self._session.stub

        async def cancel() -> None:
            await stub.CancelReservation(pb2.CancelReservationRequest(token=token))

        with contextlib.suppress(Exception):
            self._call(cancel, "cancelling the reservation")

    def problem(self) -> str | None:
        """Why this session can no longer use the place, or None when all is well."""
        if self._session is None or self._loop is None or not self._held:
            return "the place is not acquired"
        session = self._session
        if session.stopping.is_set():
            return f"the connection to the labgrid coordinator {self.spec.coordinator} was lost"
        try:
            return self._read(self._problem_now)
        except DeadlineExceeded as exc:
            return str(exc)

    def _problem_now(self) -> str | None:
        session = self._session
        place = session.places.get(self._place)
        if place is None:
            return f"place {self._place} was deleted from the coordinator"
        if place.acquired != self.identity:
            now = f"now held by {place.acquired}" if place.acquired else "now released"
            return (
                f"the lock on place {self._place} was lost ({now}; this session is {self.identity})"
            )
        for wanted in (self.spec.names.console, self.spec.names.rcm):
            found = self._resource_now(wanted)
            if found is None:
                return f"resource {wanted} of place {self._place} is gone (exporter disappeared?)"
            path, data = found
            if "cls" not in data:
                return (
                    f"the exporter {path[0]} serving place {self._place} disappeared "
                    f"(resource {wanted} is gone)"
                )
        return None

    def check(self) -> None:
        """Raise BenchError when :meth:`problem` reports one (call it between items)."""
        reason = self.problem()
        if reason is not None:
            raise BenchError(f"DUT {self.dut}: {reason}")

    def release(self) -> str | None:
        """Release the place if this session still holds it, cancel the reservation, close the
        session and the SSH connection. Never raises; returns what went wrong, if anything."""
        problems: list[str] = []
        if self._ssh is not None:
            ssh, self._ssh = self._ssh, None
            with contextlib.suppress(Exception):
                ssh.cleanup()
            atexit.unregister(ssh.cleanup)  # it registered itself; it must not run twice
        if self._held and self._session is not None and self._loop is not None:
            self._held = False
            try:
                self._release_place()
            except Exception as exc:
                problems.append(f"releasing place {self._place}: {exc}")
        self._cancel_reservation()
        if self._session is not None and self._loop is not None:
            session, self._session = self._session, None

            async def stop() -> None:
                await session.stop()
                await session.close()

            with contextlib.suppress(Exception):
                self._loop.call(stop, 10.0, "closing the session")
        if self._loop is not None:
            self._loop.close()
            self._loop = None
        return "; ".join(problems) or None

    def _release_place(self) -> None:
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb2

        session = self._session
        name = self._place

        async def release() -> None:
            if session.stopping.is_set():
                raise BenchError("the coordinator connection is gone")
            await session.stub.ReleasePlace(
                pb2.ReleasePlaceRequest(placename=name, fromuser=self.identity)
            )
            await session.sync_with_coordinator()

        self._call(release, f"releasing place {name}")

    def __enter__(self) -> LabgridPlace:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    # --- resources --------------------------------------------------------------------------

    def _resource_now(self, wanted: str) -> tuple[tuple[str, str, str, str], dict[str, Any]] | None:
        session = self._session
        place = session.places.get(self._place)
        if place is None:
            return None
        for path in place.acquired_resources:
            match = place.getmatch(path)
            name = match.rename if match is not None and match.rename else path[3]
            if name != wanted:
                continue
            exporter, group, _, resource = path
            entry = session.resources.get(exporter, {}).get(group, {}).get(resource)
            return tuple(path), dict(entry.data) if entry is not None else {}
        return None

    def resource(self, wanted: str) -> dict[str, Any]:
        """The data (``cls``, ``avail``, ``params``) of the place's resource named ``wanted``."""
        found = self._read(lambda: self._resource_now(wanted))
        if found is None:
            raise BenchError(
                f"DUT {self.dut}: place {self._place} has no resource named {wanted} "
                "(labgrid.names in the bench entry, or the exporter is down)"
            )
        path, data = found
        if "cls" not in data:
            raise BenchError(
                f"DUT {self.dut}: the exporter {path[0]} serving place {self._place} "
                f"disappeared (resource {wanted} is gone)"
            )
        return data

    def _require_resources(self) -> None:
        for wanted in (self.spec.names.console, self.spec.names.rcm, self.spec.names.topo):
            if wanted is not None:
                self.resource(wanted)

    @property
    def bench_host(self) -> str:
        """The exporter's host (where the LFT and the in-tree tools are)."""
        return str(self.resource(self.spec.names.rcm)["params"]["host"])

    def console_url(self) -> str:
        """``rfc2217://host:port?ign_set_control`` of the place's NetworkSerialPort
        (forwarded over SSH when the exporter requires a proxy or ``LG_PROXY`` is set)."""
        data = self.resource(self.spec.names.console)
        params = data["params"]
        host, port = str(params["host"]), int(params["port"])
        extra = params.get("extra") or {}
        proxy = os.environ.get("LG_PROXY") or (
            extra.get("proxy") if extra.get("proxy_required") else None
        )
        if proxy:
            from labgrid.util.ssh import sshmanager

            port = int(sshmanager.request_forward(proxy, host, port))
            host = "localhost"
        # As labgrid's SerialDriver: ser2net does not acknowledge modem-line changes on
        # every device (a pty, some USB UARTs), which must not fail the open.
        return f"rfc2217://{host}:{port}?ign_set_control"

    def usb_device(self) -> UsbDevice | None:
        """What the place's USB resource shows now (None when nothing is on the port)."""
        data = self.resource(self.spec.names.rcm)
        params = data.get("params") or {}
        if not data.get("avail") or params.get("vendor_id") is None:
            return None
        return UsbDevice(
            vid=int(params["vendor_id"]),
            pid=int(params["model_id"]),
            bus=None if params.get("busnum") is None else int(params["busnum"]),
            address=None if params.get("devnum") is None else int(params["devnum"]),
            port_path=None if params.get("path") is None else str(params["path"]),
        )

    def find_rcm(self, chip: ChipFamily) -> RcmDevice | None:
        """The DUT in RCM on the place's USB port, or None. ``port_path`` is the instance
        NVIDIA's tools take (``--usb-instance``)."""
        dev = self.usb_device()
        if dev is None or dev.vid != NVIDIA_VID or not chip.is_rcm_pid(dev.pid):
            return None
        return RcmDevice(dev.vid, dev.pid, dev.bus, dev.address, dev.port_path, chip)

    def look(self, chip: ChipFamily) -> UsbLook:
        """One look at the USB resource (after checking the place is still ours: a lost
        place or exporter is a :class:`BenchError` at once)."""
        self.check()
        dev = self.usb_device()
        seen = () if dev is None else (dev,)
        if dev is None or dev.vid != NVIDIA_VID or not chip.is_rcm_pid(dev.pid):
            return UsbLook(None, seen)
        return UsbLook(RcmDevice(dev.vid, dev.pid, dev.bus, dev.address, dev.port_path, chip), seen)

    def not_in_rcm(
        self,
        chip: ChipFamily,
        *,
        timeout: float,
        seen: tuple[UsbDevice, ...],
        boardctl_output: str | None,
        manual: bool,
    ) -> str:
        """What the USB resource showed, and what boardctl printed."""
        shown = "; ".join(str(d) for d in seen) or "nothing"
        lines = [
            f"DUT {self.dut}: not in recovery ({rcm_pattern(chip)}, {chip.marketing}) on the "
            f"USB resource {self.spec.names.rcm} of place {self._place} within {timeout:g} s.",
            f"Seen on that port: {shown}",
        ]
        if boardctl_output is not None:
            tail = "\n".join(f"    {line}" for line in boardctl_output.splitlines()[-20:])
            lines.append("boardctl printed:\n" + (tail or "    (nothing)"))
        return "\n".join(lines)

    def wait_for_rcm(
        self,
        chip: ChipFamily,
        *,
        timeout: float,
        poll: float = 0.5,
        boardctl_output: str | None = None,
        manual: bool = False,
    ) -> RcmDevice:
        """Poll the USB resource until the DUT is in RCM (:func:`poll_for_rcm`):
        DeadlineExceeded listing what was seen, BenchError at once when the place or the
        exporter is lost."""
        return poll_for_rcm(
            self,
            chip,
            timeout=timeout,
            poll=poll,
            boardctl_output=boardctl_output,
            manual=manual,
        )

    # --- commands ---------------------------------------------------------------------------

    def transport(self) -> SshTransport:
        """Commands on the bench host over labgrid's SSH connection, cut off by :meth:`problem`."""
        if self._transport is None:
            from labgrid.util.ssh import SSHConnection

            host = self.bench_host
            connection = SSHConnection(host)
            try:
                connection.connect()
            except Exception as exc:
                raise BenchError(
                    f"DUT {self.dut}: cannot open SSH to the bench host {host}: {exc}"
                ) from exc
            self._ssh = connection
            self._transport = SshTransport(
                host,
                options=connection.get_prefix()[1:-1],
                watch=self.problem,
                hangup=self._hangup,
            )
        return self._transport

    def _hangup(self) -> None:
        """Close the SSH master: every command running over it ends, remotely with SIGHUP."""
        ssh = self._ssh
        if ssh is not None:
            with contextlib.suppress(Exception):
                ssh.disconnect()
