"""RCM detection over pyusb: is the DUT on the bus in forced recovery, on its own port?

The DUT is in RCM when a device with vendor 0x0955 and the chip family's recovery product id
(``7?23`` for T23x, ``7?26`` for T26x: 7026 is the Thor devkit, 7226 and 7326 exist too) shows up.
When the bench gives the DUT's USB port path (``"<bus>-<port>[.<port>...]"``, as sysfs and the flash
tools name it), only that port counts, so two Jetsons on one host are never confused. The pyusb
backend is a parameter: libusb's by default, the simulator's on the simulated bench. ``usb`` is
imported lazily.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from pytest_jetson.catalogue import NVIDIA_VID, ChipFamily, chip_by_id
from pytest_jetson.errors import BenchError, DeadlineExceeded

DEVICE_NAMES: dict[int, str] = {
    0x7023: "AGX Orin in recovery",
    0x7223: "AGX Orin 32GB in recovery",
    0x7323: "Orin NX 16GB in recovery",
    0x7423: "Orin NX 8GB in recovery",
    0x7523: "Orin Nano 8GB in recovery",
    0x7623: "Orin Nano 4GB in recovery",
    0x7026: "AGX Thor T5000 in recovery",
    0x7226: "AGX Thor T4000 in recovery",
    0x7326: "AGX Thor (prod fused) in recovery",
    0x7045: "TOPO MCU",
    0x7035: "initrd-flash gadget (7035)",
    0x7020: "booted Jetson (7020)",
}
"""Names of the NVIDIA USB product ids a Jetson bench shows (vendor 0x0955)."""

_LEGACY_PIDS = frozenset({0x7018, 0x7418, 0x7C18, 0x7019, 0x7819, 0x7919, 0x7E19})

MANUAL_RECOVERY_HINT = (
    "put the DUT into recovery by hand: hold the RECOVERY button, press and release RESET "
    "(or power it on), then release RECOVERY; check that the USB cable goes to the DUT's "
    "recovery (flashing) port"
)


@dataclass(frozen=True)
class UsbDevice:
    """One NVIDIA device seen on the bus."""

    vid: int
    pid: int
    bus: int | None
    address: int | None
    port_path: str | None
    """``"<bus>-<p1>[.<p2>...]"``, or None when the backend does not report ports."""

    @property
    def name(self) -> str:
        """What the product id means on a Jetson bench."""
        if self.pid in DEVICE_NAMES:
            return DEVICE_NAMES[self.pid]
        if self.pid in _LEGACY_PIDS:
            return "legacy TX2/Xavier"
        for chip_id in ("t234", "t264"):
            if chip_by_id(chip_id).is_rcm_pid(self.pid):
                return f"{chip_by_id(chip_id).marketing} module in recovery"
        return "unknown NVIDIA device"

    def __str__(self) -> str:
        where = self.port_path or (f"bus {self.bus}" if self.bus is not None else "unknown port")
        return f"{self.vid:04x}:{self.pid:04x} @ {where} ({self.name})"


@dataclass(frozen=True)
class RcmDevice(UsbDevice):
    """A Jetson of the expected chip family in forced recovery (RCM)."""

    chip: ChipFamily | None = None


def default_backend() -> Any:
    """libusb-1.0's pyusb backend; BenchError when libusb is not installed."""
    import usb.backend.libusb1

    backend = usb.backend.libusb1.get_backend()
    if backend is None:
        raise BenchError(
            "libusb not found: install libusb-1.0 (e.g. apt install libusb-1.0-0) so pyusb "
            "can look for the DUT in recovery"
        )
    return backend


def port_path(bus: int | None, port_numbers: Iterable[int] | None) -> str | None:
    """``"<bus>-<p1>.<p2>"`` from pyusb's ``bus`` and ``port_numbers``."""
    ports = tuple(port_numbers or ())
    if bus is None or not ports:
        return None
    return f"{bus}-{'.'.join(str(p) for p in ports)}"


def list_nvidia(*, backend: Any = None) -> tuple[UsbDevice, ...]:
    """Every device with vendor 0x0955 on the bus, in enumeration order."""
    import usb.core

    chosen = default_backend() if backend is None else backend
    try:
        found = list(usb.core.find(find_all=True, idVendor=NVIDIA_VID, backend=chosen))
    except usb.core.USBError as exc:
        raise BenchError(f"USB enumeration failed: {exc}") from exc
    devices = []
    for dev in found:
        bus = None if dev.bus is None else int(dev.bus)
        devices.append(
            UsbDevice(
                vid=int(dev.idVendor),
                pid=int(dev.idProduct),
                bus=bus,
                address=None if dev.address is None else int(dev.address),
                port_path=port_path(bus, getattr(dev, "port_numbers", None)),
            )
        )
    return tuple(devices)


@dataclass(frozen=True)
class UsbLook:
    """What one look at the DUT's USB port found: the DUT in RCM (or None) and every NVIDIA
    device seen there."""

    found: RcmDevice | None
    seen: tuple[UsbDevice, ...]


class RcmPort(Protocol):
    """Where a DUT shows up in RCM: this host's bus (:class:`LocalUsb`) or a labgrid place's
    USB resource. :func:`poll_for_rcm` is the one wait loop over either."""

    def look(self, chip: ChipFamily) -> UsbLook:
        """Look once (a :class:`BenchError` when the port cannot be read any more)."""
        ...

    def not_in_rcm(
        self,
        chip: ChipFamily,
        *,
        timeout: float,
        seen: tuple[UsbDevice, ...],
        boardctl_output: str | None,
        manual: bool,
    ) -> str:
        """The message when the DUT did not show up within ``timeout`` seconds."""
        ...


class LocalUsb:
    """The DUT's USB port on this host, read with pyusb through ``backend`` (None: libusb's,
    looked up once). With ``usb_port`` only a device on exactly that port path counts; without
    it more than one candidate is a :class:`BenchError` asking for ``usb_port``."""

    def __init__(self, usb_port: str | None, *, backend: Any = None) -> None:
        self.usb_port = usb_port
        self._backend = backend

    def __repr__(self) -> str:
        return f"LocalUsb({self.usb_port!r})"

    def look(self, chip: ChipFamily) -> UsbLook:
        """The NVIDIA devices on the bus now, and the DUT among them if it is in RCM."""
        if self._backend is None:
            self._backend = default_backend()
        devices = list_nvidia(backend=self._backend)
        return UsbLook(_pick(chip, self.usb_port, devices), devices)

    def not_in_rcm(
        self,
        chip: ChipFamily,
        *,
        timeout: float,
        seen: tuple[UsbDevice, ...],
        boardctl_output: str | None,
        manual: bool,
    ) -> str:
        """What was seen, another port's candidate, and what to check."""
        return _not_in_rcm_message(chip, self.usb_port, timeout, seen, boardctl_output, manual)


def find_rcm(
    chip: ChipFamily,
    *,
    usb_port: str | None,
    backend: Any = None,
) -> RcmDevice | None:
    """The DUT in RCM, or None when it is not on the bus (yet).

    With ``usb_port`` only a device on exactly that port path counts. Without it, more than
    one candidate is a :class:`BenchError` asking for ``usb_port`` in the bench entry.
    """
    return _pick(chip, usb_port, list_nvidia(backend=backend))


def poll_for_rcm(
    port: RcmPort,
    chip: ChipFamily,
    *,
    timeout: float,
    poll: float = 0.5,
    boardctl_output: str | None = None,
    manual: bool = False,
) -> RcmDevice:
    """Look at ``port`` every ``poll`` seconds until the DUT is in RCM, at most ``timeout``.

    On timeout raises :class:`DeadlineExceeded` with the port's message: the devices seen
    meanwhile and what to check (``boardctl_output``, what the recovery command printed, or,
    when ``manual``, the recovery and reset buttons).
    """
    seen: dict[UsbDevice, None] = {}
    deadline = time.monotonic() + timeout
    while True:
        look = port.look(chip)
        seen.update(dict.fromkeys(look.seen))
        if look.found is not None:
            return look.found
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        time.sleep(min(poll, remaining))
    raise DeadlineExceeded(
        port.not_in_rcm(
            chip,
            timeout=timeout,
            seen=tuple(seen),
            boardctl_output=boardctl_output,
            manual=manual,
        ),
        output=boardctl_output or "",
    )


def wait_for_rcm(
    chip: ChipFamily,
    *,
    usb_port: str | None,
    timeout: float,
    poll: float = 0.5,
    backend: Any = None,
    boardctl_output: str | None = None,
    manual: bool = False,
) -> RcmDevice:
    """:func:`poll_for_rcm` on this host's bus (see :class:`LocalUsb`)."""
    return poll_for_rcm(
        LocalUsb(usb_port, backend=backend),
        chip,
        timeout=timeout,
        poll=poll,
        boardctl_output=boardctl_output,
        manual=manual,
    )


def rcm_pattern(chip: ChipFamily) -> str:
    """How the expected ids read in messages: ``0955:7?23`` or ``0955:7?26``."""
    return f"{NVIDIA_VID:04x}:7?{chip.rcm_pid_pattern[-2:]}"


def _pick(chip: ChipFamily, usb_port: str | None, devices: Iterable[UsbDevice]) -> RcmDevice | None:
    candidates = [
        d
        for d in devices
        if chip.is_rcm_pid(d.pid) and (usb_port is None or d.port_path == usb_port)
    ]
    if len(candidates) > 1:
        listing = ", ".join(str(d) for d in candidates)
        raise BenchError(
            f"{len(candidates)} {chip.marketing} devices are in recovery ({listing}); "
            "set usb_port in the bench entry to the DUT's port path so the right one is used"
        )
    if not candidates:
        return None
    d = candidates[0]
    return RcmDevice(d.vid, d.pid, d.bus, d.address, d.port_path, chip)


def _not_in_rcm_message(
    chip: ChipFamily,
    usb_port: str | None,
    timeout: float,
    seen: tuple[UsbDevice, ...],
    boardctl_output: str | None,
    manual: bool,
) -> str:
    where = f" on USB port {usb_port}" if usb_port else ""
    lines = [
        f"the DUT did not appear in recovery ({rcm_pattern(chip)}, {chip.marketing}){where} "
        f"within {timeout:g} s."
    ]
    if seen:
        lines.append("NVIDIA devices seen: " + "; ".join(str(d) for d in seen))
    else:
        lines.append("NVIDIA devices seen: none")
    elsewhere = [d for d in seen if chip.is_rcm_pid(d.pid) and usb_port and d.port_path != usb_port]
    if elsewhere:
        lines.append(
            f"A {chip.marketing} device in recovery is on another port "
            f"({', '.join(d.port_path or '?' for d in elsewhere)}): is usb_port right?"
        )
    if manual:
        lines.append(f"Check: {MANUAL_RECOVERY_HINT}.")
    elif boardctl_output is not None:
        shown = "\n".join(f"    {line}" for line in boardctl_output.splitlines()[-20:])
        lines.append(
            "Check the board automation (cable, target, power); boardctl printed:\n"
            + (shown or "    (nothing)")
        )
    else:
        lines.append("Check: the recovery request, the USB cable and the DUT's power.")
    return "\n".join(lines)
