"""Preflight 5.1-5.4 outcomes on simulated DUTs, one per fault, and the password never written."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_jetson.bench import BenchEntry, DefaultUser
from pytest_jetson.drivers.boardctl import Boardctl
from pytest_jetson.drivers.side import LocalSide
from pytest_jetson.drivers.usb import LocalUsb
from pytest_jetson.dut import Deadlines, Dut
from pytest_jetson.errors import ConfigError
from pytest_jetson.preflight.checks import (
    check_bsp_image,
    check_default_user,
    check_eeprom,
    check_rcm,
    images_identical,
    run_preflight,
    standard_checks,
)
from pytest_jetson.profile import CustomCarrier, Profile, load_profile
from pytest_jetson.sim.host import SimDut, SimHost
from tests.helpers import FAST

PASSWORD = "Qa-pw-7f3a1c9e"


@pytest.fixture
def host(tmp_path: Path) -> Iterator[SimHost]:
    with SimHost(tmp_path / "sim") as sim:
        yield sim


def add(host: SimHost, board: str = "orin-agx", *faults: str, release: str | None = None) -> SimDut:
    return host.add_dut(f"dut{len(host.duts)}", board, release=release, faults=faults, speed=FAST)


def entry(dut: SimDut, user: DefaultUser | None = None, **kw: object) -> BenchEntry:
    return BenchEntry(
        name=dut.name,
        profile=load_profile(dut.profile_path),
        boardctl_target=dut.boardctl_target,
        usb_port=dut.usb_port,
        default_user=user,
        **kw,  # type: ignore[arg-type]
    )


def side_of(profile: Profile) -> LocalSide:
    assert profile.bsp_image is not None
    return LocalSide(profile.bsp_image.lft)


def subject(host: SimHost, bench: BenchEntry, logs: Path, **deadlines: float) -> Dut:
    """The DUT the standard checks run for: this host's side, the simulated USB bus."""
    return Dut(
        entry=bench,
        side=LocalSide.for_entry(bench, backend=host.usb_backend()),
        artifacts=logs,
        deadlines=Deadlines(**deadlines),
        env={},
    )


def test_clean_trees_pass_5_1_for_both_flows(host: SimHost) -> None:
    for board in ("orin-agx", "thor-agx"):
        profile = load_profile(add(host, board).profile_path)
        for tool in ("flash.sh", "l4t_initrd_flash.sh"):
            outcome = check_bsp_image(profile, flow_tool=tool)
            assert outcome.passed, outcome


def test_image_drift_is_a_defect_with_the_fix(host: SimHost) -> None:
    profile = load_profile(add(host, "orin-agx", "image_drift").profile_path)
    outcome = check_bsp_image(profile, flow_tool="flash.sh")
    assert outcome.status == "defect"
    assert "kernel/Image and rootfs/boot/Image differ" in outcome.message
    assert "jetson-promote-image" in outcome.fix


def test_missing_initrd_matters_only_for_the_initrd_flow(host: SimHost) -> None:
    profile = load_profile(add(host, "thor-agx", "missing_initrd").profile_path)
    outcome = check_bsp_image(profile, flow_tool="l4t_initrd_flash.sh")
    assert outcome.status == "defect"
    # R38 Thor's t264.conf.common names this initrd in INITRD
    assert "INITRD names bootloader/l4t_initrd.img, which is missing" in outcome.message
    assert "jetson-init-image" in outcome.fix
    assert check_bsp_image(profile, flow_tool="flash.sh").passed
    unknown = check_bsp_image(profile, flow_tool=None)
    assert unknown.passed and "the initrd not checked" in unknown.message


def test_r36_initrd_flow_needs_the_confs_initrd_not_l4t_initrd_img(host: SimHost) -> None:
    """R36 Orin confs name rootfs/boot/initrd; an R36 tree has no bootloader/l4t_initrd.img."""
    dut = add(host, "orin-nano")
    profile = load_profile(dut.profile_path)
    assert not (dut.lft / "bootloader" / "l4t_initrd.img").exists()
    assert check_bsp_image(profile, flow_tool="l4t_initrd_flash.sh").passed
    (dut.lft / "rootfs" / "boot" / "initrd").unlink()
    outcome = check_bsp_image(profile, flow_tool="l4t_initrd_flash.sh")
    assert outcome.status == "defect"
    assert "INITRD names rootfs/boot/initrd, which is missing" in outcome.message


def test_a_missing_kernel_image_is_a_defect(host: SimHost) -> None:
    """flash.sh stops with 'Error: missing kernel_image': the preflight says so first."""
    dut = add(host)
    profile = load_profile(dut.profile_path)
    (dut.lft / "kernel" / "Image").unlink()
    outcome = check_bsp_image(profile, flow_tool="flash.sh")
    assert outcome.status == "defect"
    assert "kernel_image names kernel/Image, which is missing" in outcome.message
    assert "Error: missing kernel_image" in outcome.message
    assert "jetson-promote-image" in outcome.fix


def test_missing_conf_and_unapplied_binaries_are_defects(host: SimHost) -> None:
    dut = add(host)
    profile = load_profile(dut.profile_path)
    (dut.lft / "rootfs" / "etc" / "nv_tegra_release").unlink()
    (dut.lft / "rootfs" / "var" / "lib" / "dpkg" / "status").write_text("")
    for listed in (dut.lft / "rootfs" / "var" / "lib" / "dpkg" / "info").glob("nvidia-l4t-*"):
        listed.unlink()
    real_conf = (dut.lft / profile.flash_config).resolve()
    real_conf.unlink()
    outcome = check_bsp_image(profile, flow_tool="flash.sh")
    assert outcome.status == "defect"
    assert f"per-board conf {profile.flash_config} is a dangling symlink" in outcome.message
    assert "apply_binaries.sh not run: rootfs/etc/nv_tegra_release is missing" in outcome.message
    assert "no nvidia-l4t-core or nvidia-l4t-bsp package" in outcome.message
    assert "run apply_binaries.sh" in outcome.fix


def test_r39_style_bsp_package_record_is_accepted(host: SimHost) -> None:
    dut = add(host)
    dpkg = dut.lft / "rootfs" / "var" / "lib" / "dpkg"
    for listed in (dpkg / "info").glob("nvidia-l4t-*"):
        listed.unlink()
    (dpkg / "status").write_text("Package: nvidia-l4t-bsp-firmware\nStatus: install ok installed\n")
    assert check_bsp_image(load_profile(dut.profile_path), flow_tool="flash.sh").passed


def test_image_comparison_catches_same_size_drift(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"x" * 5_000_000 + b"1")
    b.write_bytes(b"x" * 5_000_000 + b"2")
    assert not images_identical(a, b)
    b.write_bytes(a.read_bytes())
    assert images_identical(a, b)


def test_rcm_check_outcomes(host: SimHost) -> None:
    good = add(host)
    outcome = check_rcm(
        good.board.chip,
        LocalUsb(good.usb_port, backend=host.usb_backend()),
        timeout=5,
        poll=0.05,
        boardctl=Boardctl(LocalSide(good.lft), "topo", timeout=30),
    )
    assert outcome.passed and good.usb_port in outcome.message


def test_no_rcm_leaves_the_bench_unavailable(host: SimHost) -> None:
    dut = add(host, "orin-agx", "no_rcm")
    outcome = check_rcm(
        dut.board.chip,
        LocalUsb(dut.usb_port, backend=host.usb_backend()),
        timeout=0.3,
        poll=0.05,
        boardctl=Boardctl(LocalSide(dut.lft), "topo", timeout=30),
    )
    assert outcome.status == "unavailable"
    assert "booted Jetson (7020)" in outcome.message
    assert "Recovery mode done." in outcome.message


def test_boardctl_hang_leaves_the_bench_unavailable(host: SimHost) -> None:
    dut = add(host, "orin-agx", "boardctl_hang")
    outcome = check_rcm(
        dut.board.chip,
        LocalUsb(dut.usb_port, backend=host.usb_backend()),
        timeout=5,
        boardctl=Boardctl(LocalSide(dut.lft), "topo", timeout=0.5, grace=0.3),
    )
    assert outcome.status == "unavailable"
    assert "timed out after 0.5 s waiting for boardctl -t topo recovery" in outcome.message


def test_unlisted_target_is_a_defect(host: SimHost) -> None:
    dut = add(host, "orin-agx", release="R36.2.0")
    outcome = check_rcm(
        dut.board.chip,
        LocalUsb(dut.usb_port, backend=host.usb_backend()),
        timeout=1,
        boardctl=Boardctl(LocalSide(dut.lft), "thor-jetson-module"),
    )
    assert outcome.status == "defect" and "topo, orin-slt, concord" in outcome.message


def recovered_profile(dut: SimDut) -> Profile:
    Boardctl(LocalSide(dut.lft), dut.boardctl_target, timeout=30).recovery()
    return load_profile(dut.profile_path)


def test_eeprom_sku_mismatch_is_a_defect_naming_both_values(host: SimHost) -> None:
    profile = recovered_profile(add(host, "orin-agx", "eeprom_sku_mismatch"))
    outcome = check_eeprom(profile, side_of(profile), timeout=60)
    assert outcome.status == "defect"
    assert "reference_devkit.module.sku is '0000' in the profile" in outcome.message
    assert "board_sku '0005'" in outcome.message
    assert "EEPROM is authoritative: fix the profile" in outcome.fix
    assert outcome.finding.reading.board_id.sku == "0005"


def test_empty_eeprom_values_do_not_conflict(host: SimHost) -> None:
    profile = recovered_profile(add(host, "orin-agx", "eeprom_empty"))
    outcome = check_eeprom(profile, side_of(profile), timeout=60)
    assert outcome.passed, outcome
    assert "sku (empty) FAB (empty)" in outcome.message
    # nvautoflash printed the fields, then exited 10: the reading is what it printed
    assert "not in nvautoflash's board table, exit 10" in outcome.message
    assert "Error: Target board not found." in outcome.finding.reading.output
    assert outcome.finding.plan[0] == "DUT EEPROM → board_sku=(empty) board_FAB=(empty)"


def test_a_custom_thor_carrier_passes_and_a_real_disagreement_still_refuses(
    host: SimHost,
) -> None:
    """R38.4's nvautoflash knows only the devkit baseboards: a custom carrier exits 10."""
    dut = add(host, "thor-agx", release="R38.4.0")
    dut.store.update(
        lambda s: dataclasses.replace(s, eeprom=dataclasses.replace(s.eeprom, baseboard_id="5678"))
    )
    devkit = recovered_profile(dut)
    carrier = dataclasses.replace(
        devkit,
        custom_carrier=CustomCarrier(id="p5678", sku=None, flash_config=devkit.flash_config),
    )
    outcome = check_eeprom(carrier, side_of(carrier), timeout=60)
    assert outcome.passed, outcome
    assert "not in nvautoflash's board table" in outcome.message
    refused = check_eeprom(devkit, side_of(devkit), reading=outcome.finding.reading)
    assert refused.status == "defect"
    assert "baseboard_id '5678'" in refused.message


def test_eeprom_without_rcm_is_unavailable(host: SimHost) -> None:
    profile = load_profile(add(host).profile_path)
    outcome = check_eeprom(profile, side_of(profile), timeout=60)
    assert outcome.status == "unavailable" and "No Jetson device found" in outcome.message


def test_standard_checks_run_in_order_and_pass_on_a_healthy_dut(
    host: SimHost, tmp_path: Path
) -> None:
    dut = add(host, "thor-agx")
    checks = standard_checks(
        subject(host, entry(dut, DefaultUser("nvidia")), tmp_path / "logs", rcm=10),
        flow_tool="l4t_initrd_flash.sh",
    )
    outcomes = run_preflight(["default_user", "eeprom", "bsp_image", "rcm"], checks)
    assert [o.name for o in outcomes] == ["bsp_image", "rcm", "eeprom", "default_user"]
    assert all(o.passed for o in outcomes), outcomes
    assert outcomes[3].message == "Default user: nvidia (autologin)"
    user_log = (tmp_path / "logs" / "default_user.log").read_text()
    assert "Password - ***" in user_log and "-p '***'" in user_log


def test_standard_checks_stop_at_a_host_defect(host: SimHost, tmp_path: Path) -> None:
    dut = add(host, "orin-agx", "image_drift")
    checks = standard_checks(
        subject(host, entry(dut, DefaultUser("ubuntu")), tmp_path / "logs"), flow_tool="flash.sh"
    )
    outcomes = run_preflight(["eeprom", "default_user"], checks)
    assert [(o.name, o.status) for o in outcomes] == [
        ("bsp_image", "defect"),
        ("rcm", "unavailable"),
        ("eeprom", "unavailable"),
        ("default_user", "unavailable"),
    ]
    assert dut.state().mode != "recovery", "the board was touched after a host-side defect"
    assert not (dut.lft / "rootfs" / "home" / "ubuntu").exists()


def test_custom_user_is_staged_then_kept_and_the_password_is_never_written(
    host: SimHost, tmp_path: Path
) -> None:
    dut = add(host)
    profile = load_profile(dut.profile_path)
    choice = DefaultUser("custom", username="qa", password_env="QA_PW")
    log = tmp_path / "logs" / "user.log"
    staged = check_default_user(profile, choice, side_of(profile), env={"QA_PW": PASSWORD}, log=log)
    assert staged.passed and staged.message == "Default user: qa (autologin)"
    staging = staged.finding
    assert staging.resolution == "staged" and PASSWORD not in staging.command
    assert "Password - ***" in log.read_text()
    kept = check_default_user(profile, choice, side_of(profile), env={"QA_PW": PASSWORD})
    assert kept.passed and kept.finding.resolution == "kept"
    assert "etc/passwd: qa" in kept.message or "home/qa" in kept.message
    assert PASSWORD not in repr(staged) + repr(kept)
    leaks = [
        path
        for path in tmp_path.rglob("*")
        if path.is_file() and not path.is_symlink() and PASSWORD.encode() in path.read_bytes()
    ]
    assert leaks == []
    assert any(tmp_path.rglob("*.log")), "the scan must cover written logs"


def test_custom_user_without_its_variable_names_the_variable(host: SimHost) -> None:
    profile = load_profile(add(host).profile_path)
    choice = DefaultUser("custom", username="qa", password_env="QA_PW_MISSING")
    with pytest.raises(ConfigError) as info:
        check_default_user(profile, choice, side_of(profile), env={})
    assert "QA_PW_MISSING" in str(info.value)


def test_skip_and_unset_choice(host: SimHost) -> None:
    profile = load_profile(add(host).profile_path)
    skipped = check_default_user(profile, DefaultUser("skip"), side_of(profile), env={})
    assert skipped.passed and "OEM config wizard on first boot" in skipped.message
    unset = check_default_user(profile, None, side_of(profile), env={})
    assert unset.status == "defect" and "default_user" in unset.fix


def test_staging_tool_failure_is_scrubbed(host: SimHost) -> None:
    dut = add(host)
    (dut.lft / "rootfs" / "etc" / "passwd").unlink()
    choice = DefaultUser("custom", username="qa", password_env="QA_PW")
    profile = load_profile(dut.profile_path)
    outcome = check_default_user(profile, choice, side_of(profile), env={"QA_PW": PASSWORD})
    assert outcome.status == "unavailable"
    assert "ERROR: not a valid rootfs directory" in outcome.message
    assert PASSWORD not in repr(outcome)
    assert PASSWORD not in outcome.output
