"""RCM detection on USB against the simulated bench: ports, missing devices, the backend."""

from __future__ import annotations

import pytest

from pytest_jetson.catalogue import T234
from pytest_jetson.drivers.boardctl import Boardctl
from pytest_jetson.drivers.side import LocalSide
from pytest_jetson.drivers.usb import default_backend, find_rcm, list_nvidia, wait_for_rcm
from pytest_jetson.errors import BenchError, DeadlineExceeded
from pytest_jetson.sim.host import SimHost
from tests.helpers import FAST


def test_two_duts_on_one_host_are_never_confused(host: SimHost) -> None:
    first = host.add_dut("orin-a", "orin-agx", speed=FAST)
    second = host.add_dut("orin-b", "orin-agx", speed=FAST)
    assert first.usb_port != second.usb_port
    backend = host.usb_backend()
    Boardctl(LocalSide(second.lft), "topo", timeout=30, serial=second.boardctl_serial).recovery()
    assert find_rcm(T234, usb_port=first.usb_port, backend=backend) is None
    found = find_rcm(T234, usb_port=second.usb_port, backend=backend)
    assert found is not None and found.port_path == second.usb_port
    Boardctl(LocalSide(first.lft), "topo", timeout=30, index=0).recovery()
    found = find_rcm(T234, usb_port=first.usb_port, backend=backend)
    assert found is not None and found.port_path == first.usb_port
    with pytest.raises(BenchError) as info:
        find_rcm(T234, usb_port=None, backend=backend)
    assert "usb_port" in str(info.value)
    assert first.usb_port in str(info.value) and second.usb_port in str(info.value)


def test_no_rcm_lists_devices_seen_and_the_boardctl_output(host: SimHost) -> None:
    dut = host.add_dut("orin", "orin-agx", faults=("no_rcm",), speed=FAST)
    result = Boardctl(LocalSide(dut.lft), "topo", timeout=30).recovery()
    with pytest.raises(DeadlineExceeded) as info:
        wait_for_rcm(
            T234,
            usb_port=dut.usb_port,
            timeout=0.3,
            poll=0.05,
            backend=host.usb_backend(),
            boardctl_output=result.output,
        )
    message = str(info.value)
    assert f"on USB port {dut.usb_port} within 0.3 s" in message
    assert "0955:7?23" in message
    assert f"0955:7020 @ {dut.usb_port} (booted Jetson (7020))" in message
    assert "(TOPO MCU)" in message
    assert "Recovery mode done." in message


def test_manual_recovery_failure_says_which_buttons(host: SimHost) -> None:
    dut = host.add_dut("orin", "orin-agx", speed=FAST)
    with pytest.raises(DeadlineExceeded) as info:
        wait_for_rcm(
            T234,
            usb_port=dut.usb_port,
            timeout=0.1,
            poll=0.05,
            backend=host.usb_backend(),
            manual=True,
        )
    assert "hold the RECOVERY button, press and release RESET" in str(info.value)


def test_rcm_on_another_port_is_pointed_out(host: SimHost) -> None:
    dut = host.add_dut("orin", "orin-agx", speed=FAST)
    Boardctl(LocalSide(dut.lft), "topo", timeout=30).recovery()
    with pytest.raises(DeadlineExceeded) as info:
        wait_for_rcm(T234, usb_port="2-1", timeout=0.1, poll=0.05, backend=host.usb_backend())
    assert f"on another port ({dut.usb_port})" in str(info.value)


def test_default_backend_is_libusb_or_a_clear_error() -> None:
    import usb.backend.libusb1

    if usb.backend.libusb1.get_backend() is None:
        with pytest.raises(BenchError, match="libusb not found"):
            default_backend()
        with pytest.raises(BenchError, match="libusb not found"):
            list_nvidia()
    else:
        assert isinstance(list_nvidia(), tuple)
