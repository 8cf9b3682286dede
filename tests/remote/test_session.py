"""A pytest session driving a DUT on the loopback labgrid bench, as a user runs it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_jetson.remote.labgrid import LabgridPlace
from tests.helpers import HIL_TEST, processes_in, remaining

from .conftest import DUT, Rig, left_running

STEAL_TESTS = """
import subprocess, sys, time

def test_a_thief_takes_the_place(jetson_dut):
    client = [sys.executable, "-m", "labgrid.remote.client", "-x", "{coordinator}", "-p", "{dut}"]
    env = {{"LG_USERNAME": "mallory", "PATH": "/usr/bin:/bin"}}
    subprocess.run([*client, "release", "--kick"], env=env, check=True, timeout=30)
    subprocess.run([*client, "acquire"], env=env, check=True, timeout=30)
    deadline = time.monotonic() + 10
    while jetson_dut.side.problem() is None and time.monotonic() < deadline:
        time.sleep(0.05)

def test_after_the_theft(jetson_dut):
    pass

def test_never_reached(jetson_dut):
    pass
"""


def bench_file(pytester: pytest.Pytester, rig: Rig, *, lock_wait_s: float = 5.0) -> Path:
    profile = rig.dut.profile_path
    return pytester.makefile(
        ".yaml",
        bench=f"""
duts:
  {DUT}:
    profile: {profile}
    boardctl_target: topo
    default_user: ubuntu
    labgrid:
      coordinator: {rig.bench.coordinator}
      place: {DUT}
      lft: {rig.dut.lft}
      lock_wait_s: {lock_wait_s}
""",  # type: ignore[attr-defined]
    )


def args(pytester: pytest.Pytester, rig: Rig, *extra: str, lock_wait_s: float = 5.0) -> list[str]:
    bench = bench_file(pytester, rig, lock_wait_s=lock_wait_s)
    (pytester.path / "locks").mkdir(exist_ok=True)
    return [
        "-p",
        "no:labgrid",
        "-p",
        "no:cacheprovider",
        f"--dut={DUT}",
        f"--jetson-bench={bench}",
        f"--jetson-artifacts={pytester.path / 'artifacts'}",
        "-o",
        f"jetson_lock_dir={pytester.path / 'locks'}",
        "-rA",
        *extra,
    ]


def released(rig: Rig) -> bool:
    return "acquired: None" in rig.bench.client("show", place=DUT)  # type: ignore[attr-defined]


def test_flash_boot_and_a_user_test_through_labgrid(pytester: pytest.Pytester, rig: Rig) -> None:
    rig.sim.set_speed(DUT, 8)
    pytester.makepyfile(test_hil=HIL_TEST)
    result = pytester.runpytest_subprocess(
        *args(pytester, rig, "--jetson-flash", "--jetson-accept-plan"), "test_hil.py", timeout=300
    )
    out = result.stdout.str()
    assert result.ret == 0, out
    assert "PASSED test_hil.py::test_on_the_board" in out
    for step in ("preflight-bsp_image", "preflight-rcm", "flash", "kernel", "login"):
        assert f"[{step}" in out or step in out
    summary = json.loads((pytester.path / "artifacts" / DUT / "summary.json").read_text())
    where = f"127.0.0.1:{rig.dut.lft}"
    assert summary["outcome"] == "booted"
    argv = summary["plan"]["argv"]
    # The place's USB resource path is the instance NVIDIA's tool flashes.
    assert argv[argv.index("--usb-instance") + 1] == rig.dut.usb_port, argv
    assert summary["bench_host"] == where and summary["plan"]["bench_host"] == where
    assert released(rig)
    # The place is the DUT's lock, seen from every host: no local lock file besides it.
    assert not list((pytester.path / "locks").iterdir())


def test_flash_auto_keeps_its_record_on_the_place(pytester: pytest.Pytester, rig: Rig) -> None:
    from pytest_jetson.remote.placerecord import PROVISIONING, RECORD_TAGS

    rig.sim.set_speed(DUT, 8)
    forget = (f"{key}=" for key in (*RECORD_TAGS, PROVISIONING))
    rig.bench.client("set-tags", *forget, place=DUT)  # type: ignore[attr-defined]
    pytester.makepyfile(test_hil=HIL_TEST)

    def run_auto() -> dict[str, Any]:
        result = pytester.runpytest_subprocess(
            *args(pytester, rig, "--jetson-flash=auto", "--jetson-accept-plan"),
            "test_hil.py",
            timeout=300,
        )
        assert result.ret == 0, result.stdout.str()
        data: dict[str, Any] = json.loads(
            (pytester.path / "artifacts" / DUT / "summary.json").read_text()
        )
        return data

    first = run_auto()
    assert first["reflash"]["reason"] == "no-record" and first["outcome"] == "booted"
    second = run_auto()
    assert second["reflash"]["skip"] is True and second["outcome"] == "verified", second
    assert second["reflash"]["message"].startswith(
        f"verified: R36.4.3, image {first['image_digest']}"
    )
    shown = rig.bench.client("show", place=DUT)  # type: ignore[attr-defined]
    assert f"jetson_image={first['image_digest']}" in shown and "jetson_provisioning" not in shown
    assert not list((pytester.path / "locks").iterdir())  # the place holds it, not this host

    # A DTB changed on the bench host: the pytest host's view holds only its name, so the
    # digest is taken there; the board is flashed again.
    dtb = Path(rig.dut.lft) / "kernel" / "dtb" / "tegra234-p3737-0000+p3701-0000-nv.dtb"
    original = dtb.read_bytes()
    dtb.write_bytes(original + b"\0changed on the bench")
    try:
        third = run_auto()
    finally:
        dtb.write_bytes(original)
    assert third["reflash"]["reason"] == "image-changed", third["reflash"]
    assert third["image_digest"] != first["image_digest"]


def test_the_plan_digest_does_not_depend_on_the_bench_host(
    pytester: pytest.Pytester, rig: Rig
) -> None:
    result = pytester.runpytest_subprocess(
        *args(pytester, rig, "--jetson-flash", "--jetson-plan-only"), timeout=120
    )
    out = result.stdout.str()
    assert "Bench host:   127.0.0.1:" in out, out
    summary = json.loads((pytester.path / "artifacts" / DUT / "summary.json").read_text())
    from pytest_jetson.flash.plan import Plan

    fields = {k: v for k, v in summary["plan"].items() if k not in ("digest", "image_digest")}
    fields["argv"] = tuple(fields["argv"])
    local = Plan(**{**fields, "bench_host": "local"})
    assert summary["plan_digest"] == local.digest
    assert released(rig)


def test_a_held_place_waits_then_fails_naming_the_holder(
    pytester: pytest.Pytester, rig: Rig
) -> None:
    holder = LabgridPlace(rig.spec(), dut=DUT, identity=("ci-runner", "alice+ci42"))
    holder.acquire()
    try:
        pytester.makepyfile(test_hil=HIL_TEST)
        result = pytester.runpytest_subprocess(
            *args(pytester, rig, "--jetson-flash", "--jetson-accept-plan", lock_wait_s=1.0),
            "test_hil.py",
            timeout=120,
        )
        assert holder.check() is None  # never kicked
        # Without --jetson-flash the test that needs the DUT errors with the holder named,
        # as a bench message, not a Python traceback.
        plain = pytester.runpytest_subprocess(
            *args(pytester, rig, lock_wait_s=0.5), "test_hil.py", timeout=120
        )
        assert holder.check() is None
    finally:
        holder.release()
    plain_out = plain.stdout.str()
    plain.assert_outcomes(errors=1)
    assert "held by ci-runner/alice+ci42 (since " in plain_out, plain_out
    assert not re.search(r"\.py:\d+: |^E ", plain_out, re.MULTILINE), plain_out  # no traceback
    out = result.stdout.str()
    assert result.ret != 0
    assert "held by ci-runner/alice+ci42 (since " in out and "waited 1 s" in out, out
    assert "flash" not in {line.split()[-1] for line in out.splitlines() if "PASSED" in line}
    assert "stopping" in out.lower() or "Interrupted" in out, out


def test_a_stolen_lock_stops_the_run_as_an_infrastructure_failure(
    pytester: pytest.Pytester, rig: Rig
) -> None:
    pytester.makepyfile(
        test_steal=STEAL_TESTS.format(coordinator=rig.bench.coordinator, dut=DUT)  # type: ignore[attr-defined]
    )
    junit = pytester.path / "junit.xml"
    try:
        result = pytester.runpytest_subprocess(
            *args(pytester, rig, f"--junitxml={junit}"), "test_steal.py", timeout=120
        )
    finally:
        rig.bench.client("release", place=DUT, user="mallory")  # type: ignore[attr-defined]
    out = result.stdout.str()
    assert "PASSED test_steal.py::test_a_thief_takes_the_place" in out, out
    assert "ERROR test_steal.py::test_after_the_theft" in out
    assert "lock on place orin-03 was lost (now held by" in out and "/mallory" in out
    assert "test_never_reached" not in out.split("short test summary")[-1]
    assert "Interrupted" in out or "stopping" in out.lower()
    assert 'name="failure_class" value="infra"' in junit.read_text()


def test_killing_the_exporter_mid_flash_is_a_bench_error(
    pytester: pytest.Pytester, rig: Rig
) -> None:
    rig.sim.set_speed(DUT, 1)
    pytester.makepyfile(test_hil=HIL_TEST)
    argv = [
        sys.executable,
        "-m",
        "pytest",
        *args(pytester, rig, "--jetson-flash", "--jetson-accept-plan"),
        "test_hil.py",
    ]
    flash_log = pytester.path / "artifacts" / DUT / "flash.log"
    proc = subprocess.Popen(
        argv, cwd=pytester.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while not (flash_log.exists() and flash_log.stat().st_size > 0):
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, "the flash never started"
            time.sleep(0.05)
        rig.bench.kill_exporter()  # type: ignore[attr-defined]
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        rig.bench.start_exporter()  # type: ignore[attr-defined]
        rig.sim.set_speed(DUT, 8)
    assert proc.returncode != 0
    assert "exporter loopback serving place orin-03 disappeared" in out, out
    assert "ERROR test_hil.py::flash" in out or "flash" in out
    assert left_running(f"{rig.dut.lft} ./flash.sh") == []  # ssh, timeout, env on the bench
    assert remaining(lambda: processes_in(rig.dut.lft)) == []  # flash.sh and its children
