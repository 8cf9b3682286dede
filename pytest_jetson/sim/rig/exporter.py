"""A labgrid exporter that also exports simulated DUTs' recovery USB ports.

Run as ``python -m pytest_jetson.sim.rig.exporter [labgrid-exporter options] CONFIG``. It is
labgrid's own exporter with one more resource class, ``SimUSBFlashableDevice``, that shows the
simulated host's device on one USB port path the way udev shows a real one to labgrid's
``USBFlashableDevice``: the client sees a ``NetworkUSBFlashableDevice`` whose ``vendor_id`` and
``model_id`` follow the simulated DUT (0955:7023 in recovery, 0955:7020 booted, gone when off)
and whose ``path`` is the port path (``1-4``)::

    orin-03:
      rcm:
        cls: SimUSBFlashableDevice
        host_dir: /tmp/.../host        ## SimHost.host_dir
        usb_port: "1-4"

Only the loopback bench and demos use this; a real bench exports ``USBFlashableDevice``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any


class SimUsbPort:
    """The "local resource" side: what is on ``usb_port`` of the simulated host right now."""

    def __init__(self, host_dir: str, usb_port: str) -> None:
        from pytest_jetson.sim.usb import SimUsbBackend

        self._backend = SimUsbBackend(Path(host_dir))
        self._usb_port = usb_port
        self.device: Any = None

    @property
    def avail(self) -> bool:
        """Whether a device is on the port."""
        return self.device is not None

    def poll(self) -> None:
        """Look at the port again."""
        from pytest_jetson.drivers.usb import list_nvidia

        found = [d for d in list_nvidia(backend=self._backend) if d.port_path == self._usb_port]
        self.device = found[0] if found else None

    def params(self, host: str) -> dict[str, Any]:
        """What ``USBGenericExport`` publishes for a real device."""
        dev = self.device
        return {
            "host": host,
            "busnum": None if dev is None else dev.bus,
            "devnum": None if dev is None else dev.address,
            "path": None if dev is None else self._usb_port,
            "vendor_id": None if dev is None else dev.vid,
            "model_id": None if dev is None else dev.pid,
            "devnode": None,
        }


def register() -> None:
    """Add ``SimUSBFlashableDevice`` to labgrid's exporter."""
    import attr
    from labgrid.remote import exporter

    @attr.s(eq=False)
    class SimUSBFlashableExport(exporter.ResourceExport):  # type: ignore[misc]
        def __attrs_post_init__(self) -> None:
            super().__attrs_post_init__()
            self.data["cls"] = "NetworkUSBFlashableDevice"
            self.local = SimUsbPort(**self.local_params)

        def _get_params(self) -> dict[str, Any]:
            return self.local.params(self.host)

    exporter.exports["SimUSBFlashableDevice"] = SimUSBFlashableExport


def main() -> None:
    """labgrid-exporter's command line, with the simulated USB resource registered."""
    register()
    from labgrid.remote.exporter import main as exporter_main

    sys.argv[0] = "labgrid-exporter"
    exporter_main()


if __name__ == "__main__":
    main()
