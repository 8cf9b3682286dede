"""SimUsbBackend through unmodified pyusb: what a host with simulated DUTs shows."""

from __future__ import annotations

import usb.core
import usb.util

from pytest_jetson.drivers.usb import find_rcm, list_nvidia
from pytest_jetson.sim.host import SimHost


def _seen(host: SimHost) -> set[tuple[int, int, tuple[int, ...]]]:
    found = usb.core.find(find_all=True, idVendor=0x0955, backend=host.usb_backend())
    return {(dev.idProduct, dev.bus, tuple(dev.port_numbers)) for dev in found}


def test_devices_per_mode_and_distinct_ports(host: SimHost) -> None:
    orin = host.add_dut("orin", "orin-agx")
    nano = host.add_dut("nano", "orin-nano")
    assert orin.usb_port == "1-4" and nano.usb_port == "1-5"
    assert _seen(host) == {
        (0x7045, 3, (4,)),
        (0x7045, 3, (5,)),
        (0x7020, 1, (4,)),
        (0x7020, 1, (5,)),
    }
    orin.store.replace(mode="recovery")
    nano.store.replace(mode="off")
    assert _seen(host) == {(0x7045, 3, (4,)), (0x7045, 3, (5,)), (0x7023, 1, (4,))}
    nano.store.replace(mode="recovery")
    assert (0x7523, 1, (5,)) in _seen(host)
    orin.store.replace(mode="initrd")
    assert (0x7035, 1, (4,)) in _seen(host)
    orin.store.replace(mode="recovery", usb_dropped=True)
    assert not any(pid == 0x7023 for pid, _, _ in _seen(host))


def test_string_descriptors(host: SimHost) -> None:
    orin = host.add_dut("orin", "orin-agx")
    orin.store.replace(mode="recovery")
    backend = host.usb_backend()
    topo = usb.core.find(idVendor=0x0955, idProduct=0x7045, backend=backend)
    assert topo is not None and topo.product == "Tegra On-Platform Operator"
    rcm = usb.core.find(idVendor=0x0955, idProduct=0x7023, backend=backend)
    assert rcm is not None
    assert usb.util.get_string(rcm, rcm.iProduct) == "APX"
    assert rcm.manufacturer == "NVIDIA Corp."
    assert rcm.serial_number == orin.state().serial_number


def test_product_rcm_detection_picks_the_dut_by_port(host: SimHost) -> None:
    thor = host.add_dut("thor", "thor-agx")
    other = host.add_dut("thor2", "thor-agx", faults=("eeprom_sku_mismatch",))
    thor.store.replace(mode="recovery")
    other.store.replace(mode="recovery")
    backend = host.usb_backend()
    pids = {d.pid for d in list_nvidia(backend=backend)}
    assert {0x7026, 0x7226} <= pids
    found = find_rcm(thor.board.chip, usb_port=other.usb_port, backend=backend)
    assert found is not None and found.pid == 0x7226 and found.port_path == other.usb_port
