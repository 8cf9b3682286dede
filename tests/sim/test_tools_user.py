"""l4t_create_default_user.sh and apply_binaries.sh on a simulated tree."""

from __future__ import annotations

import types

import pytest

from pytest_jetson.sim.host import SimDut, SimHost

USER = "tools/l4t_create_default_user.sh"


@pytest.fixture(scope="module")
def orin(module_host: SimHost) -> SimDut:
    return module_host.add_dut("orin", "orin-agx", release="R36.4.3")


@pytest.fixture(scope="module")
def thor(module_host: SimHost) -> SimDut:
    return module_host.add_dut("thor", "thor-agx", release="R38.4.0")


def test_stages_user_like_nvidia(orin: SimDut, kit: types.SimpleNamespace) -> None:
    args = ("-u", "qa", "-p", "Very-Secret1", "-n", "bench-7", "-a", "--accept-license")
    result = kit.run_tool(orin, USER, *args)
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        "Creating: Username - qa, Password - Very-Secret1, Autologin - true",
        "Creating: Hostname - bench-7",
    ]
    etc = orin.lft / "rootfs" / "etc"
    assert "qa:x:1000:1000:" in (etc / "passwd").read_text()
    assert "nobody:x:65534" in (etc / "passwd").read_text()
    assert "Very-Secret1" not in (etc / "shadow").read_text()
    assert (etc / "hostname").read_text() == "bench-7\n"
    assert "127.0.1.1\tbench-7" in (etc / "hosts").read_text()
    assert (orin.lft / "rootfs" / "home" / "qa").is_dir()
    assert (etc / "nv" / "nvautoconfig").exists()
    sudo = next(ln for ln in (etc / "group").read_text().splitlines() if ln.startswith("sudo:"))
    assert sudo.endswith("qa")
    tcu = etc / "systemd/system/serial-getty@ttyTCU0.service.d/autologin.conf"
    assert "agetty --autologin qa --keep-baud 115200" in tcu.read_text()
    assert not (etc / "systemd/system/serial-getty@ttyUTC0.service.d").exists()


def test_r38_autologin_adds_utc_and_drops_nvautoconfig(
    thor: SimDut, kit: types.SimpleNamespace
) -> None:
    assert (
        kit.run_tool(thor, USER, "-u", "ubuntu", "-p", "x1", "-a", "--accept-license").returncode
        == 0
    )
    etc = thor.lft / "rootfs" / "etc"
    assert (etc / "systemd/system/serial-getty@ttyUTC0.service.d/autologin.conf").is_file()
    assert not (etc / "nv" / "nvautoconfig").exists()


def test_defaults_and_errors(thor: SimDut, kit: types.SimpleNamespace) -> None:
    result = kit.run_tool(thor, USER, "--accept-license")
    line = result.stdout.splitlines()[0]
    assert line.startswith("Creating: Username - nvidia, Password - ")
    assert len(line.split("Password - ")[1].split(",")[0]) == 8
    bad = kit.run_tool(thor, USER, "--bogus")
    assert bad.returncode != 0 and "ERROR: Invalid parameter. Exiting..." in bad.stderr
    declined = kit.run_tool(thor, USER, "-u", "x")
    assert declined.returncode != 0
    assert "License For Customer Use of NVIDIA Software" in declined.stdout


def test_apply_binaries_leaves_markers(orin: SimDut, kit: types.SimpleNamespace) -> None:
    result = kit.run_tool(orin, "apply_binaries.sh")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == f"Using rootfs directory of: {orin.lft / 'rootfs'}"
    assert lines[-1] == "Success!"
    rootfs = orin.lft / "rootfs"
    assert (rootfs / "boot" / "Image").read_bytes() == (orin.lft / "kernel" / "Image").read_bytes()
    assert "Package: nvidia-l4t-core\n" in (rootfs / "var/lib/dpkg/status").read_text()
