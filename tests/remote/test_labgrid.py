"""The labgrid place on the loopback bench: lock, resources, RCM, console, SSH, failures."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from pytest_jetson.catalogue import T234, T264
from pytest_jetson.errors import BenchError, DeadlineExceeded
from pytest_jetson.host.command import Command
from pytest_jetson.remote.labgrid import LabgridPlace, lock_identity

from .conftest import DUT, Rig, left_running


def test_lock_identity_names_the_ci_job() -> None:
    env = {"LG_HOSTNAME": "runner7", "LG_USERNAME": "ci"}
    assert lock_identity({**env, "CI_JOB_ID": "4711"}) == ("runner7", "ci+ci4711")
    assert lock_identity({**env, "GITHUB_RUN_ID": "99", "GITHUB_RUN_ATTEMPT": "2"}) == (
        "runner7",
        "ci+gh99.2",
    )
    _, user = lock_identity({**env, "PYTEST_XDIST_WORKER": "gw1"})
    assert user.startswith("ci+pid") and user.endswith(".gw1")


@pytest.fixture
def place(rig: Rig) -> Iterator[LabgridPlace]:
    held = LabgridPlace(rig.spec(), dut=DUT)
    held.acquire()
    yield held
    held.release()
    assert "acquired: None" in rig.bench.client("show", place=DUT)  # type: ignore[attr-defined]


def test_smoke_tool_over_ssh_rcm_and_console_boot(
    rig: Rig, place: LabgridPlace, tmp_path: Path
) -> None:
    from pytest_jetson.console import SerialConsole

    assert place.check() is None
    assert place.bench_host == "127.0.0.1"
    transport = place.transport()
    boardctl = str(rig.dut.lft / "tools/board_automation/boardctl")
    result = transport.run(
        Command(
            [boardctl, "-t", "topo", "recovery"],
            cwd=rig.dut.lft,
            timeout=60,
            what="boardctl recovery",
        )
    )
    assert result.ok, result.output
    device = place.wait_for_rcm(T234, timeout=10, poll=0.1)
    assert (device.vid, device.port_path) == (0x0955, rig.dut.usb_port)
    assert T234.is_rcm_pid(device.pid)
    assert place.find_rcm(T264) is None
    url = place.console_url()
    assert url.startswith("rfc2217://127.0.0.1:")
    with SerialConsole.open(url, log=tmp_path / "console.log") as console:
        transport.run(
            Command(
                [boardctl, "-t", "topo", "reset"],
                cwd=rig.dut.lft,
                timeout=60,
                what="boardctl reset",
            )
        )
        console.expect(r"MB1 \(version", timeout=15)
    assert "MB1 (version" in (tmp_path / "console.log").read_text()


def test_second_holder_waits_then_fails_naming_the_holder(rig: Rig, place: LabgridPlace) -> None:
    other = LabgridPlace(rig.spec(lock_wait_s=0.5), dut=DUT, identity=("ci-runner", "bob+ci77"))
    try:
        with pytest.raises(BenchError) as info:
            other.acquire()
    finally:
        other.release()
    message = str(info.value)
    assert f"place {DUT}" in message and f"held by {place.identity} (since " in message
    assert "waited 0.5 s" in message and "ci-runner/bob+ci77" in message
    assert place.check() is None  # the first holder is unaffected


def test_reservation_by_tags_acquires_the_tagged_place(rig: Rig) -> None:
    spec = rig.spec(place=None, reserve_tags=(("board", "orin_agx"),))
    with LabgridPlace(spec, dut=DUT) as held:
        assert held.place == DUT
        assert held.check() is None
        blocked = LabgridPlace(replace(spec, lock_wait_s=0.5), dut=DUT, identity=("h", "u+ci1"))
        try:
            with pytest.raises(BenchError, match=re.escape(f"held by: {DUT}: {held.identity}")):
                blocked.acquire()
        finally:
            blocked.release()


def test_a_stolen_lock_is_detected(rig: Rig, place: LabgridPlace) -> None:
    bench = rig.bench
    bench.client("release", "--kick", place=DUT, user="mallory")  # type: ignore[attr-defined]
    bench.client("acquire", place=DUT, user="mallory")  # type: ignore[attr-defined]
    try:
        with pytest.raises(
            BenchError, match=r"lock on place orin-03 was lost \(now held by .*/mallory"
        ):
            for _ in range(100):  # the update arrives asynchronously
                place.check()
                time.sleep(0.05)
    finally:
        bench.client("release", place=DUT, user="mallory")  # type: ignore[attr-defined]


def test_exporter_killed_mid_command_is_a_bench_error(rig: Rig, place: LabgridPlace) -> None:
    transport = place.transport()
    killer = threading.Timer(1.0, rig.bench.kill_exporter)  # type: ignore[attr-defined]
    killer.start()
    try:
        with pytest.raises(BenchError, match="exporter loopback serving place orin-03 disappeared"):
            transport.run(
                Command(
                    ["sh", "-c", "echo flashing; sleep 41.42"], cwd="/", timeout=60, what="flash"
                )
            )
        assert left_running("sleep 41.42") == []
        with pytest.raises(BenchError, match="disappeared"):
            place.check()
        with pytest.raises(BenchError, match="disappeared"):
            place.wait_for_rcm(T234, timeout=5)
    finally:
        killer.join()
        rig.bench.start_exporter()  # type: ignore[attr-defined]


def test_rcm_wait_times_out_listing_what_was_seen(rig: Rig, place: LabgridPlace) -> None:
    boardctl = str(rig.dut.lft / "tools/board_automation/boardctl")
    place.transport().run(
        Command([boardctl, "-t", "topo", "reset"], cwd=rig.dut.lft, timeout=60, what="reset")
    )
    with pytest.raises(
        DeadlineExceeded, match=r"not in recovery .* within 0.3 s.\nSeen on that port: 0955:7020"
    ):
        place.wait_for_rcm(T234, timeout=0.3, poll=0.1)
