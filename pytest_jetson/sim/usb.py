"""A pyusb backend showing what a host attached to the simulated DUTs sees.

:class:`SimUsbBackend` implements ``usb.backend.IBackend`` over a simulated host dir: each DUT
in recovery appears as ``0955:<RCM pid>`` on its port path (the PID follows the module:
7023 AGX Orin, 7523 Orin Nano, 7026 AGX Thor);
during an initrd flash as the ``0955:7035`` gadget; booted as ``0955:7020``. Every DUT's TOPO
board-automation MCU (``0955:7045``) is always there. Unmodified ``usb.core.find`` and
``usb.util.get_string`` work against it.
"""

from __future__ import annotations

import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import usb.backend
import usb.core

from pytest_jetson.catalogue import NVIDIA_VID
from pytest_jetson.sim.state import DutState, StateStore, host_state_dirs, topo_serial

PID_INITRD_GADGET = 0x7035
PID_BOOTED = 0x7020
PID_TOPO = 0x7045
TOPO_BUS = 3
"""The TOPO MCUs hang off another bus than the DUTs' recovery ports."""

PRODUCT_STRINGS = {
    PID_TOPO: "Tegra On-Platform Operator",
    PID_BOOTED: "L4T (Linux for Tegra) running on Tegra",
    PID_INITRD_GADGET: "Linux for Tegra initrd flash",
}
_DESC_DEVICE = 1
_DESC_CONFIG = 2
_DESC_STRING = 3
_GET_DESCRIPTOR = 6
_LANGID_EN_US = 0x0409


@dataclass(frozen=True)
class SimUsbDevice:
    """One simulated device on the bus (the backend's opaque ``dev``)."""

    vid: int
    pid: int
    bus: int
    port_numbers: tuple[int, ...]
    manufacturer: str
    product: str
    serial: str

    @property
    def address(self) -> int:
        """A stable device address derived from the port path."""
        weight = sum(p * 10**i for i, p in enumerate(self.port_numbers))
        return int((weight + self.pid) % 120 + 2)


@dataclass
class _DeviceDescriptor:
    """The attributes pyusb's ``Device`` copies from a backend's device descriptor."""

    idVendor: int
    idProduct: int
    bus: int
    address: int
    port_number: int
    port_numbers: tuple[int, ...]
    bLength: int = 18
    bDescriptorType: int = _DESC_DEVICE
    bcdUSB: int = 0x0200
    bDeviceClass: int = 0
    bDeviceSubClass: int = 0
    bDeviceProtocol: int = 0
    bMaxPacketSize0: int = 64
    bcdDevice: int = 0x0001
    iManufacturer: int = 1
    iProduct: int = 2
    iSerialNumber: int = 3
    bNumConfigurations: int = 0
    speed: int = 3
    """``usb.util.SPEED_HIGH``."""


def devices_of(state: DutState) -> list[SimUsbDevice]:
    """What one DUT puts on the host's buses in its current state."""
    topo = SimUsbDevice(
        NVIDIA_VID,
        PID_TOPO,
        TOPO_BUS,
        state.port_numbers,
        "NVIDIA",
        PRODUCT_STRINGS[PID_TOPO],
        topo_serial(state),
    )
    found = [topo]
    pid: int | None = None
    product = "APX"
    if state.in_rcm:
        pid = state.eeprom.rcm_pid
    elif state.mode == "initrd":
        pid, product = PID_INITRD_GADGET, PRODUCT_STRINGS[PID_INITRD_GADGET]
    elif state.mode == "on":
        pid, product = PID_BOOTED, PRODUCT_STRINGS[PID_BOOTED]
    if pid is not None:
        found.append(
            SimUsbDevice(
                NVIDIA_VID,
                pid,
                state.usb_bus,
                state.port_numbers,
                "NVIDIA Corp.",
                product,
                state.serial_number,
            )
        )
    return found


class SimUsbBackend(usb.backend.IBackend):  # type: ignore[misc]
    """pyusb backend over the simulated host ``host_dir``."""

    def __init__(self, host_dir: Path) -> None:
        self.host_dir = Path(host_dir)

    def __repr__(self) -> str:
        return f"SimUsbBackend({str(self.host_dir)!r})"

    def enumerate_devices(self) -> list[SimUsbDevice]:
        """Every device on the simulated host now, DUT by DUT."""
        found: list[SimUsbDevice] = []
        for state_dir in host_state_dirs(self.host_dir):
            try:
                found.extend(devices_of(StateStore(state_dir).read()))
            except FileNotFoundError:
                continue
        return found

    def get_device_descriptor(self, dev: SimUsbDevice) -> _DeviceDescriptor:
        """The device descriptor pyusb's ``Device`` reads its attributes from."""
        return _DeviceDescriptor(
            idVendor=dev.vid,
            idProduct=dev.pid,
            bus=dev.bus,
            address=dev.address,
            port_number=dev.port_numbers[-1],
            port_numbers=dev.port_numbers,
        )

    def get_parent(self, dev: SimUsbDevice) -> None:
        """Root-hub parents are not simulated."""
        return None

    def open_device(self, dev: SimUsbDevice) -> SimUsbDevice:
        """The handle is the device itself."""
        return dev

    def close_device(self, dev_handle: SimUsbDevice) -> None:
        """Nothing to release."""

    def claim_interface(self, dev_handle: SimUsbDevice, intf: int) -> None:
        """Interfaces are always available."""

    def release_interface(self, dev_handle: SimUsbDevice, intf: int) -> None:
        """Interfaces are always available."""

    def ctrl_transfer(
        self,
        dev_handle: SimUsbDevice,
        bmRequestType: int,
        bRequest: int,
        wValue: int,
        wIndex: int,
        data: Any,
        timeout: int,
    ) -> int:
        """Answer GET_DESCRIPTOR(STRING) so ``usb.util.get_string`` works."""
        if bRequest != _GET_DESCRIPTOR or (wValue >> 8) != _DESC_STRING:
            raise usb.core.USBError("Pipe error", errno=32)
        index = wValue & 0xFF
        if index == 0:
            payload = _LANGID_EN_US.to_bytes(2, "little")
        else:
            strings = {1: dev_handle.manufacturer, 2: dev_handle.product, 3: dev_handle.serial}
            if index not in strings:
                raise usb.core.USBError("Pipe error", errno=32)
            payload = strings[index].encode("utf-16-le")
        blob = bytes([len(payload) + 2, _DESC_STRING]) + payload
        if not isinstance(data, array.array):
            raise usb.core.USBError("Invalid parameter", errno=22)
        n = min(len(blob), len(data))
        data[:n] = array.array("B", blob[:n])
        return n
