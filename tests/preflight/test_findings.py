"""Typed preflight findings: gathered by kind, read by the flow without dictionaries."""

from __future__ import annotations

from pathlib import Path

from pytest_jetson.catalogue import T234
from pytest_jetson.drivers.defaultuser import UserStaging
from pytest_jetson.drivers.eeprom import BoardId, CrossCheck, EepromReading
from pytest_jetson.drivers.usb import RcmDevice
from pytest_jetson.preflight.checks import CheckOutcome
from pytest_jetson.preflight.findings import EepromChecked, Findings, ImageChecked, InRecovery

DEVICE = RcmDevice(0x0955, 0x7023, 1, 4, "1-4", T234)
BOARD = BoardId(board_id="3701", sku="0005", fab="", rev="")
EEPROM = EepromChecked(
    EepromReading(BOARD, "Parsing board ID (3701) succeeded.", "./nvautoflash.sh", None),
    CrossCheck(BOARD, Path("profiles/agx.yaml"), ()),
)


def test_findings_are_gathered_by_kind_whatever_the_order() -> None:
    staged = UserStaging("staged", "qa")
    findings = Findings.of(
        [
            None,
            staged,
            EEPROM,
            InRecovery(DEVICE, "Recovery mode done."),
            ImageChecked(Path("/L"), None, False),
        ]
    )
    assert findings.device == DEVICE and findings.rcm is not None
    assert findings.rcm.boardctl_output == "Recovery mode done."
    assert findings.board_id == BOARD and findings.eeprom is EEPROM
    assert findings.staging is staged and findings.user_staged
    assert findings.image == ImageChecked(Path("/L"), None, False)
    assert EEPROM.plan == (
        "DUT EEPROM → board_sku=0005 board_FAB=(empty)",
        "Profile → module.sku=(any) module.revision=(any)",
    )


def test_nothing_found_yet_and_a_skipped_user() -> None:
    empty = Findings.of([])
    assert (empty.device, empty.board_id, empty.staging, empty.user_staged) == (
        None,
        None,
        None,
        False,
    )
    skipped = Findings.of([UserStaging("skip", None)])
    assert not skipped.user_staged
    assert skipped.staging is not None
    assert skipped.staging.plan_line == "Default user: none — OEM config wizard on first boot"
    assert UserStaging("kept", None).plan_value == "already staged in rootfs (kept)"


def test_an_outcome_carries_its_finding_and_output_outside_equality() -> None:
    one = CheckOutcome("rcm", "pass", "DUT in recovery", finding=InRecovery(DEVICE))
    assert one == CheckOutcome("rcm", "pass", "DUT in recovery")
    assert one.ran and CheckOutcome("eeprom", "unavailable", "x", output="boom").output == "boom"
