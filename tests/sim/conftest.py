"""Fixtures for the simulated DUT's tests: simulated hosts and tool runners."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial

from pytest_jetson.sim.host import SimDut, SimHost
from pytest_jetson.sim.tcu import CCPLEX, demux
from tests.helpers import FAST, wait_for


def run_tool(
    dut: SimDut, rel: str, *args: str, timeout: float = 20.0, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the tree's tool ``rel`` with plain argv in the LFT, as the product does."""
    return subprocess.run(
        [str(dut.lft / rel), *args],
        cwd=dut.lft,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **env},
        check=False,
    )


def start_tool(dut: SimDut, rel: str, *args: str) -> subprocess.Popen[str]:
    """Start a tool in its own process group (to be killed like the product kills it)."""
    return subprocess.Popen(
        [str(dut.lft / rel), *args],
        cwd=dut.lft,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def kill_group(proc: subprocess.Popen[str]) -> None:
    """Kill a tool and everything it spawned."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def read_until(port: serial.Serial, marker: bytes, timeout: float = 10.0) -> bytes:
    """Read from ``port`` until ``marker`` shows up in what CCPLEX printed (the combined UART
    demultiplexed, as NVIDIA's demuxer shows it), and return that (or fail, quoting what came)."""
    buf = b""
    deadline = time.monotonic() + timeout
    while marker not in (text := demux(buf).get(CCPLEX, b"")):
        if time.monotonic() > deadline:
            tail = buf.decode(errors="replace")[-2000:]
            raise AssertionError(f"{marker!r} not seen within {timeout} s; got:\n{tail}")
        buf += port.read(4096)
    return text


def read_quiet(port: serial.Serial, seconds: float) -> bytes:
    """Everything ``port`` says during ``seconds``."""
    buf = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        buf += port.read(4096)
    return buf


@pytest.fixture
def host(tmp_path: Path) -> Iterator[SimHost]:
    """A fresh simulated host, closed after the test."""
    with SimHost(tmp_path / "bench") as h:
        yield h


@pytest.fixture(scope="module")
def module_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimHost]:
    """A simulated host shared by a test module."""
    with SimHost(tmp_path_factory.mktemp("bench")) as h:
        yield h


@pytest.fixture(scope="session")
def kit() -> types.SimpleNamespace:
    """The simulator tests' tool runners and readers (with the shared speed factor and wait)."""
    return types.SimpleNamespace(
        FAST=FAST,
        run_tool=run_tool,
        start_tool=start_tool,
        kill_group=kill_group,
        read_until=read_until,
        read_quiet=read_quiet,
        wait_for=wait_for,
    )
