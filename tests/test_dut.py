"""The Dut: its bench side, boardctl built in one place with one privilege rule, its states
and the broken latch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_jetson.bench import BenchEntry
from pytest_jetson.drivers.side import LocalSide
from pytest_jetson.dut import TRANSITIONS, Dut, StateError, fresh_artifacts
from pytest_jetson.errors import BenchError
from pytest_jetson.host.transport import LocalTransport
from pytest_jetson.profile import load_profile
from pytest_jetson.sim.host import SimDut, SimHost
from tests.helpers import FAST


@pytest.fixture
def host(tmp_path: Path) -> Iterator[SimHost]:
    with SimHost(tmp_path / "sim") as sim:
        yield sim


def dut_of(host: SimHost, sim: SimDut, artifacts: Path, *, euid: int | None = None) -> Dut:
    entry = BenchEntry(
        name=sim.name,
        profile=load_profile(sim.profile_path),
        boardctl_target=sim.boardctl_target,
        usb_port=sim.usb_port,
    )
    side = LocalSide(
        sim.lft,
        usb_port=sim.usb_port,
        backend=host.usb_backend(),
        transport=LocalTransport(euid=euid),
    )
    return Dut(entry=entry, side=side, artifacts=artifacts, env={})


def test_rcm_check_reset_and_teardown_run_boardctl_with_the_same_privileges(
    host: SimHost, tmp_path: Path
) -> None:
    # A user that is not root: every boardctl run must go through `sudo -n`. The shim runs the
    # command as given and notes it; the RCM check used to build its own boardctl without sudo.
    shim = tmp_path / "bin" / "sudo"
    shim.parent.mkdir()
    shim.write_text(
        f'#!/bin/sh\n[ "$1" = -n ] && shift\necho "$*" >> {tmp_path}/sudo.log\nexec "$@"\n'
    )
    shim.chmod(0o755)
    dut = dut_of(host, host.add_dut("orin", "orin-agx", speed=FAST), tmp_path / "art", euid=1000)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", f"{shim.parent}:/usr/bin:/bin")
        (rcm,) = dut.preflight(["rcm"], flow_tool=None)
        assert rcm.passed, rcm
        boardctl = dut.boardctl()
        assert boardctl is not None
        boardctl.reset()
        boardctl.power_off()
    runs = [
        line.split(" && ", 1)[1]
        for line in (tmp_path / "art" / "boardctl.log").read_text().splitlines()
        if line.startswith("$ cd ")
    ]
    verbs = [run.rsplit(" ", 1)[1] for run in runs]
    assert verbs == ["-h", "recovery", "-h", "reset", "power_off"]
    assert all(run.startswith("sudo -n ") for run in runs), runs
    assert len((tmp_path / "sudo.log").read_text().splitlines()) == len(runs)


def test_find_rcm_and_the_usb_instance_come_from_the_side(host: SimHost, tmp_path: Path) -> None:
    sim = host.add_dut("orin", "orin-agx", speed=FAST)
    dut = dut_of(host, sim, tmp_path / "art")
    assert dut.find_rcm() is None
    (rcm,) = dut.preflight(["rcm"], flow_tool=None)
    found = dut.find_rcm()
    assert rcm.passed and found is not None and found.port_path == sim.usb_port
    assert dut.side.usb_instance(found) == sim.usb_port
    assert LocalSide(sim.lft).usb_instance(found) is None, "no usb_port: any single Jetson"
    assert (dut.lft, dut.host_lft, dut.bench_host) == (sim.lft, sim.lft, "local")


def test_states_change_through_transition_only_along_the_known_edges(
    host: SimHost, tmp_path: Path
) -> None:
    dut = dut_of(host, host.add_dut("orin", "orin-agx", speed=FAST), tmp_path / "art")
    assert dut.state == "unknown"
    with pytest.raises(StateError, match="DUT orin: cannot go from unknown to flashed"):
        dut.transition("flashed")
    (rcm,) = dut.preflight(["rcm"], flow_tool=None)
    assert rcm.passed and dut.state == "recovery"
    for state in ("flashed", "booted", "recovery", "recovery", "flashed"):
        dut.transition(state)
        assert dut.state == state
    with pytest.raises(StateError, match="from flashed only to: booted, recovery"):
        dut.transition("unknown")
    assert set(TRANSITIONS) == {"unknown", "recovery", "flashed", "booted"}


def test_the_broken_latch_keeps_the_first_failure_chained(host: SimHost, tmp_path: Path) -> None:
    dut = dut_of(host, host.add_dut("orin", "orin-agx", speed=FAST), tmp_path / "art")
    first = BenchError("boardctl -t topo recovery failed with exit 1")
    dut.latch_broken("recovery: boardctl failed", first)
    dut.latch_broken("later: something else", BenchError("later"))
    assert (dut.broken, dut.broken_by) == ("recovery: boardctl failed", first)
    with pytest.raises(BenchError, match="DUT orin is broken: recovery: boardctl failed") as info:
        dut.transition("recovery")
    assert info.value.__cause__ is first
    assert dut.state == "unknown"


def test_fresh_artifacts_keeps_one_generation_aside(tmp_path: Path) -> None:
    folder = tmp_path / "art" / "orin-01"
    fresh_artifacts(folder)  # nothing there yet: nothing to do
    assert not folder.exists()
    for run in ("one", "two", "three"):
        fresh_artifacts(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "flash.log").write_text(f"{run}\n")
    assert (folder / "flash.log").read_text() == "three\n"
    assert (folder / "previous" / "flash.log").read_text() == "two\n"
    assert sorted(p.name for p in folder.iterdir()) == ["flash.log", "previous"]
    assert sorted(p.name for p in (folder / "previous").iterdir()) == ["flash.log"]
