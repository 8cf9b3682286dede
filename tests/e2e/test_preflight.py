"""``@pytest.mark.jetson_preflight`` and ``jetson_chip`` on the simulated bench (issue 4): every
outcome a user meets, each simulator fault of the preflight, ordering, caching and the bench hook.
"""

from __future__ import annotations

import os
import re

import pytest

from tests.helpers import SPEED, processes_under


@pytest.fixture(autouse=True)
def _terminal_like_a_desk(monkeypatch: pytest.MonkeyPatch) -> None:
    """The inner runs' output is counted: pytest prints untruncated summaries under CI, so
    make it print the same everywhere."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("BUILD_NUMBER", raising=False)


def _run(pytester: pytest.Pytester, dut: str, *options: str) -> pytest.RunResult:
    artifacts = pytester.path / "artifacts"
    return pytester.runpytest(
        f"--dut={dut}",
        SPEED,
        f"--jetson-artifacts={artifacts}",
        "-rA",
        "-p",
        "no:randomly",
        *options,
    )


def _log(pytester: pytest.Pytester, dut: str, name: str) -> str:
    return (pytester.path / "artifacts" / dut / name).read_text()


def _sim_root(log: str) -> str:
    return log.split("$ cd ", 1)[1].split("/sim-host/", 1)[0]


TREE_DEFECTS = """
import pytest

@pytest.mark.jetson_preflight("eeprom", "bsp_image")
def test_defect_fails():
    pass

@pytest.mark.jetson_preflight("bsp_image", on_fail="skip")
def test_defect_skips_on_request():
    pass

@pytest.mark.jetson_chip("t234")
def test_for_orin():
    pass

@pytest.mark.jetson_chip("t264")
def test_for_thor():
    pass
"""


def test_image_drift_and_missing_initrd_fail_with_the_refusal_and_the_fix(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_tree=TREE_DEFECTS)
    result = _run(
        pytester,
        "sim-orin-nano",  # boots from NVMe: the initrd flow, which needs the initrd files
        "--jetson-sim-fault=image_drift",
        "--jetson-sim-fault=missing_initrd",
        "--junitxml=junit.xml",
    )
    result.assert_outcomes(failed=1, passed=1, skipped=2)  # a defect: FAILED, though in setup
    out = result.stdout.str()
    junit = (pytester.path / "junit.xml").read_text()
    assert "DefectFailed" not in out + junit  # the refusal, without an exception class name
    result.stdout.fnmatch_lines(
        ["FAILED *test_defect_fails[[]sim-orin-nano[]] - preflight bsp_image: *"]
    )
    result.stdout.fnmatch_lines(
        [
            "*test_defect_fails*",
            "preflight bsp_image: defect: *kernel/Image and rootfs/boot/Image differ (Image drift*"
            "INITRD names rootfs/boot/initrd, which is missing",
            "Fix: re-run jetson-promote-image (its Mirror step copies kernel/Image to "
            "rootfs/boot/Image) and re-flash run jetson-init-image to create the initramfs*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "SKIPPED [[]1[]] *preflight bsp_image: defect: *Image drift*",
            "SKIPPED [[]1[]] *written for t264; DUT sim-orin-nano is t234*",
        ]
    )
    assert "PASSED test_tree.py::test_for_orin" in out
    assert "Traceback" not in out
    # host-side first: the defect stopped the run before the board was touched
    assert not (pytester.path / "artifacts" / "sim-orin-nano" / "boardctl.log").exists()


EEPROM_TESTS = """
import pytest

@pytest.mark.jetson_preflight("eeprom")
def test_eeprom():
    pass

@pytest.mark.jetson_preflight("eeprom", on_fail="skip")
def test_eeprom_skip():
    pass

@pytest.mark.jetson_preflight("rcm")
def test_rcm_still_usable():
    pass
"""


def test_eeprom_sku_mismatch_fails_naming_both_values_and_the_profile_fix(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_eeprom=EEPROM_TESTS)
    result = _run(pytester, "sim-orin", "--jetson-sim-fault=eeprom_sku_mismatch")
    result.assert_outcomes(failed=1, skipped=1, passed=1)  # a defect does not latch the DUT
    result.stdout.fnmatch_lines(
        [
            "preflight eeprom: defect: the DUT's EEPROM disagrees with profile *sim-orin.yaml: "
            "reference_devkit.module.sku is '0000' in the profile "
            "but the DUT's EEPROM says board_sku '0005'",
            "Fix: The EEPROM is authoritative: fix the profile *sim-orin.yaml "
            "(reference_devkit.module.sku: '0005'), or flash a board that matches it",
        ]
    )
    assert _log(pytester, "sim-orin", "eeprom.log").count("nvautoflash.sh --print_boardid") == 1


def test_an_empty_eeprom_never_conflicts(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_empty="""
import pytest

@pytest.mark.jetson_preflight("eeprom")
def test_eeprom(jetson_eeprom):
    print("EEPROM", repr(jetson_eeprom.board_id), repr(jetson_eeprom.sku), repr(jetson_eeprom.fab))
"""
    )
    result = _run(pytester, "sim-orin", "--jetson-sim-fault=eeprom_empty", "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*EEPROM '3701' '' ''*"])


LATCH_TESTS = """
import pytest

@pytest.mark.jetson_preflight("rcm")
def test_rcm():
    pass

def test_needs_the_board(jetson_eeprom):
    pass

@pytest.mark.jetson_preflight("eeprom")
def test_needs_the_eeprom():
    pass
"""


def test_no_rcm_skips_and_latches_the_dut_broken(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_latch=LATCH_TESTS)
    result = _run(pytester, "sim-orin", "--jetson-sim-fault=no_rcm", "--jetson-deadline=rcm=1")
    result.assert_outcomes(skipped=3)
    out = result.stdout.str()
    first = [line for line in result.outlines if line.startswith("SKIPPED") and "rcm" in line]
    assert first and "preflight rcm: unavailable: " in first[0], out
    assert "1-4" in out  # the error names the port it watched
    reason = "DUT sim-orin is broken: preflight rcm: "
    assert out.count(reason) == 2, out
    # the board was asked once, not hammered by every later test
    assert (
        len(re.findall(r"-t topo -s TOPO\w+ recovery", _log(pytester, "sim-orin", "boardctl.log")))
        == 1
    )
    assert not (pytester.path / "artifacts" / "sim-orin" / "eeprom.log").exists()


def test_boardctl_hang_is_killed_and_strict_turns_the_skips_into_failures(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_latch=LATCH_TESTS)
    result = _run(
        pytester,
        "sim-orin",
        "--jetson-sim-fault=boardctl_hang",
        "--jetson-deadline=boardctl=1",
        "--jetson-strict",
    )
    result.assert_outcomes(errors=3)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    out = result.stdout.str()
    assert "preflight rcm: unavailable: recovery request failed: " in out
    assert "timed out after 1 s" in out and "[--jetson-strict]" in out
    assert out.count("DUT sim-orin is broken: preflight rcm: recovery request failed") == 2
    assert "Traceback" not in out
    log = _log(pytester, "sim-orin", "boardctl.log")
    assert processes_under(_sim_root(log)) == []


ORDER_CONFTEST = """
import json
from pathlib import Path

from pytest_jetson.preflight.checks import CheckOutcome

CALLS = []


def fan(dut):
    CALLS.append(sorted(p.name for p in dut.artifacts.iterdir()))
    return CheckOutcome("fan", "pass", "the fan spins")


def fan_dead(dut):
    return CheckOutcome("fan_dead", "defect", "the fan is stuck", "replace the fan")


def pytest_jetson_preflight_checks(config):
    return {"fan": fan, "fan_dead": fan_dead}


def pytest_sessionfinish(session):
    Path(str(session.config.rootpath), "calls.json").write_text(json.dumps(CALLS))
"""

ORDER_TESTS = """
import pytest

@pytest.mark.jetson_preflight("fan", "default_user", "eeprom", "rcm", "bsp_image")
def test_everything_written_backwards():
    pass

@pytest.mark.jetson_preflight("eeprom")
@pytest.mark.jetson_preflight("fan", "rcm")
def test_again():
    pass

def test_fixtures(jetson_rcm, jetson_eeprom):
    print("RCM", jetson_rcm)
    print("EEPROM", jetson_eeprom.board_id, jetson_eeprom.sku, jetson_eeprom.fab)

@pytest.mark.jetson_preflight("fan_dead")
def test_bench_check_defect():
    pass
"""


def test_checks_run_in_the_mandated_order_once_and_bench_checks_plug_in(
    pytester: pytest.Pytester,
) -> None:
    import json

    pytester.makeconftest(ORDER_CONFTEST)
    pytester.makepyfile(test_order=ORDER_TESTS)
    result = _run(pytester, "sim-orin", "-s")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*RCM 0955:7023 @ 1-4 (*)*",
            "*EEPROM 3701 0000 500*",
            "*preflight fan_dead: defect: the fan is stuck",
            "Fix: replace the fan",
        ]
    )
    calls = json.loads((pytester.path / "calls.json").read_text())
    # the bench's check ran once, after every built-in one had left its log
    assert calls == [["boardctl.log", "default_user.log", "eeprom.log"]]
    folder = pytester.path / "artifacts" / "sim-orin"
    mtimes = [
        os.stat(folder / n).st_mtime_ns for n in ("boardctl.log", "eeprom.log", "default_user.log")
    ]
    assert mtimes == sorted(mtimes)  # rcm, then eeprom, then default_user
    assert (
        len(re.findall(r"-t topo -s TOPO\w+ recovery", _log(pytester, "sim-orin", "boardctl.log")))
        == 1
    )
    assert _log(pytester, "sim-orin", "eeprom.log").count("nvautoflash.sh --print_boardid") == 1
    assert _log(pytester, "sim-orin", "default_user.log").count("l4t_create_default_user.sh") == 1


def test_an_unknown_check_is_a_usage_error_listing_the_valid_names(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(ORDER_CONFTEST)
    pytester.makepyfile(
        test_typo="""
import pytest

@pytest.mark.jetson_preflight("bsp_imag")
def test_typo():
    pass
"""
    )
    result = _run(pytester, "sim-orin")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    text = result.stdout.str() + result.stderr.str()
    assert (
        "unknown preflight check 'bsp_imag'; valid checks: bsp_image, rcm, eeprom, "
        "default_user, fan, fan_dead; usage: jetson_preflight(*checks, on_fail='fail')" in text
    )
    assert not (pytester.path / "artifacts").exists()  # nothing ran


def test_each_run_starts_its_logs_fresh_and_keeps_the_run_before(
    pytester: pytest.Pytester,
) -> None:
    folder = pytester.path / "artifacts" / "sim-orin"
    (folder / "previous").mkdir(parents=True)
    (folder / "previous" / "flash.log").write_text("two runs ago\n")
    (folder / "flash.log").write_text("the last run's flash\n")
    (folder / "summary.json").write_text("{}\n")
    pytester.makepyfile(test_dut="def test_dut(jetson_dut):\n    pass\n")

    _run(pytester, "sim-orin", "test_dut.py").assert_outcomes(passed=1)

    here = sorted(p.name for p in folder.iterdir())
    assert "flash.log" not in here and "summary.json" not in here, here  # nothing appended to
    kept = folder / "previous"
    assert sorted(p.name for p in kept.iterdir()) == ["flash.log", "summary.json"]
    assert (kept / "flash.log").read_text() == "the last run's flash\n"  # one generation
