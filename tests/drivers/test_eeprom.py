"""EEPROM: parsing nvautoflash.sh --print_boardid output, the cross-check table, and the read
against the simulated bench's in-tree tool."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pytest_jetson.drivers.boardctl import Boardctl
from pytest_jetson.drivers.eeprom import (
    BoardId,
    cross_check,
    flash_identity,
    parse_boardid,
    read_boardid,
)
from pytest_jetson.drivers.side import LocalSide
from pytest_jetson.errors import BenchError, ConfigError
from pytest_jetson.profile import (
    BspImage,
    Carrier,
    CustomCarrier,
    Module,
    Profile,
    ReferenceDevkit,
)
from pytest_jetson.sim.host import SimDut, SimHost
from tests.helpers import FAST

ORIN_OUTPUT = """\
*** Checking ONLINE mode ... OK.
*** Checking target board connection ... 1 connections found.
*** Reading ECID ... FUSELEVEL=fuselevel_production hwchipid=0x23 bootauth=NS
*** Reading EEPROM ... "/lft/bootloader/tegraflash.py" --chip 0x23 --cmd "dump eeprom cvm cvm.bin"
[   0.0123 ] Generating RCM messages
--- Reading board information succeeded.
--- Parsing chip_info.bin information succeeded.
Chip SKU(00:00:00:D0) ramcode(00:00:00:02)
Parsing module EEPROM:
--- Parsing board ID (3701) succeeded.
--- Parsing board version (500) succeeded.
--- Parsing board SKU (0005) succeeded.
--- Parsing board REV (M.0) succeeded.
jetson-agx-orin-devkit found.
"""

THOR_OUTPUT = """\
Wait 30 seconds for host machine to get Jetson Recovery USB
*** Checking ONLINE mode ... OK.
*** Checking target board connection ... 1 connections found.
*** Reading ECID ... FUSELEVEL=fuselevel_production hwchipid=0x26 bootauth=NS
--- Reading board information succeeded.
--- Parsing chip_info.bin information succeeded.
Chip SKU(00:00:00:A0) ramcode(00:00:00:02)
Parsing module EEPROM:
--- Parsing board ID (3834) succeeded.
--- Parsing board version (401) succeeded.
--- Parsing board SKU (0008) succeeded.
--- Parsing board REV (G.5) succeeded.
Parsing baseboard EEPROM:
--- Parsing baseboard ID (4071) succeeded.
jetson-agx-thor-devkit found.
"""

EMPTY_OUTPUT = """\
*** Reading ECID ... FUSELEVEL=fuselevel_production hwchipid=0x23 bootauth=NS
Chip SKU(00:00:00:D0) ramcode(00:00:00:02)
Parsing module EEPROM:
--- Parsing board ID (3701) succeeded.
--- Parsing board version () succeeded.
--- Parsing board SKU () succeeded.
--- Parsing board REV () succeeded.
jetson-agx-orin-devkit found.
"""


def profile(
    module: str = "p3701",
    sku: str | None = "0005",
    revision: str | None = "500",
    carrier: str = "p3737",
    custom: str | None = None,
) -> Profile:
    return Profile(
        path=Path("/profiles/test.yaml"),
        reference_devkit=ReferenceDevkit(
            name="devkit",
            module=Module(module, sku, revision),
            carrier=Carrier(carrier, "0000"),
            flash_config="devkit.conf",
        ),
        custom_carrier=CustomCarrier(custom, "0000", "custom.conf") if custom else None,
        bsp_image=BspImage(Path("/images/r36")),
    )


def test_parses_every_orin_field() -> None:
    board = parse_boardid(ORIN_OUTPUT)
    assert board == BoardId(
        board_id="3701",
        sku="0005",
        fab="500",
        rev="M.0",
        chip_sku="00:00:00:D0",
        ramcode="00:00:00:02",
        baseboard_id="",
        board="jetson-agx-orin-devkit",
        hwchipid="0x23",
        fuselevel="fuselevel_production",
        bootauth="NS",
    )
    assert board.module_id == "p3701"


def test_parses_thor_baseboard_and_board_name() -> None:
    board = parse_boardid(THOR_OUTPUT)
    assert (board.board_id, board.sku, board.fab, board.rev) == ("3834", "0008", "401", "G.5")
    assert board.baseboard_id == "4071"
    assert board.board == "jetson-agx-thor-devkit"
    assert board.chip_sku == "00:00:00:A0"


def test_empty_eeprom_fields_parse_as_empty_strings() -> None:
    board = parse_boardid(EMPTY_OUTPUT)
    assert (board.sku, board.fab, board.rev) == ("", "", "")


def test_output_without_board_id_is_a_bench_error() -> None:
    with pytest.raises(BenchError, match="board ID"):
        parse_boardid("*** Checking ONLINE mode ... OK.\n")


def orin(**kw: str) -> BoardId:
    fields = {"board_id": "3701", "sku": "0005", "fab": "500", "rev": "M.0", "hwchipid": "0x23"}
    fields.update(kw)
    return BoardId(**fields)


@pytest.mark.parametrize(
    ("board", "prof", "ok", "conflicting"),
    [
        (orin(), profile(), True, []),
        (orin(sku="0000"), profile(), False, ["board_sku"]),
        (orin(sku=""), profile(), True, []),  # empty EEPROM value never conflicts
        (orin(), profile(sku=None), True, []),  # unset profile value never conflicts
        (orin(fab="300"), profile(revision="500"), False, ["board_FAB"]),
        (orin(fab="300"), profile(revision="M.0"), True, []),  # X.N compares with REV
        (orin(rev="J.0"), profile(revision="M.0"), False, ["board_REV"]),
        (orin(rev="J.0"), profile(revision="500"), True, []),  # numeric compares with FAB
        (orin(fab="RC1"), profile(revision="rc1"), True, []),
        (orin(fab=""), profile(revision="500"), True, []),
        (orin(board_id="3767"), profile(), False, ["board_id"]),
        (orin(hwchipid="0x26"), profile(), False, ["hwchipid"]),
        (orin(sku="0000", fab="300"), profile(), False, ["board_sku", "board_FAB"]),
    ],
)
def test_cross_check_table(board: BoardId, prof: Profile, ok: bool, conflicting: list[str]) -> None:
    result = cross_check(board, prof)
    assert result.ok is ok
    assert [f.eeprom_label for f in result.mismatches] == conflicting


def test_refusal_names_both_values_and_says_fix_the_profile() -> None:
    result = cross_check(orin(sku="0000"), profile(sku="0005"))
    refusal = result.refusal()
    assert "'0005'" in refusal and "'0000'" in refusal
    assert "reference_devkit.module.sku" in refusal
    fix = result.fix()
    assert "EEPROM is authoritative" in fix
    assert "fix the profile /profiles/test.yaml" in fix
    assert "reference_devkit.module.sku: '0000'" in fix


def test_plan_lines_show_empty_and_any() -> None:
    eeprom, prof = cross_check(orin(sku=""), profile(sku=None)).plan_lines()
    assert eeprom == "DUT EEPROM → board_sku=(empty) board_FAB=500"
    assert prof == "Profile → module.sku=(any) module.revision=500"


def thor(baseboard: str) -> BoardId:
    return BoardId("3834", "0008", "401", "G.5", hwchipid="0x26", baseboard_id=baseboard)


def test_thor_baseboard_is_compared_with_the_carrier() -> None:
    prof = profile("p3834", "0008", "401", carrier="p4071")
    assert cross_check(thor("4071"), prof).ok
    result = cross_check(thor("4072"), prof)
    assert [f.eeprom_label for f in result.mismatches] == ["baseboard_id"]
    assert cross_check(thor(""), prof).ok


def test_thor_custom_carrier_with_a_free_token_id_is_not_compared() -> None:
    prof = profile("p3834", "0008", "401", carrier="p4071", custom="acme1")
    result = cross_check(thor("4071"), prof)
    assert result.ok
    assert [f.status for f in result.fields if f.eeprom_label == "baseboard_id"] == ["not-compared"]


ALL_FOUR = {"BOARDID": "3701", "BOARDSKU": "0005", "FAB": "500", "BOARDREV": "M.0"}


@pytest.mark.parametrize(
    ("board", "prof", "given"),
    [
        (orin(), profile(), {}),  # a populated EEPROM is authoritative: nothing is given
        (orin(sku="", fab=""), profile(), ALL_FOUR),  # EEPROM values where non-empty
        (orin(board_id="", sku=""), profile(), ALL_FOUR),
        (orin(fab=""), profile(), ALL_FOUR),  # FAB alone empty: the whole set, not FAB alone
        (orin(rev=""), profile(revision="M.0"), {}),  # id, SKU and FAB read: flash.sh reads
    ],
    ids=["populated", "sku-fab-empty", "no-id", "fab-empty", "rev-empty-only"],
)
def test_the_identity_is_given_to_flash_sh_all_or_nothing(
    board: BoardId, prof: Profile, given: dict[str, str]
) -> None:
    """flash.sh reads the EEPROM only when FAB is empty; with FAB set it takes BOARDID,
    BOARDSKU and BOARDREV from the environment alone, so the four go together."""
    assert flash_identity(board, prof) == given


@pytest.mark.parametrize(
    ("board", "prof", "named"),
    [
        (parse_boardid(EMPTY_OUTPUT), profile(), ["BOARDREV"]),  # revision 500 is a FAB
        (orin(sku="", fab=""), profile(revision=None), ["FAB"]),
        (orin(fab=""), profile(revision="J.0"), ["FAB"]),  # a REV is not a FAB
        (orin(sku=""), profile(sku=None), ["BOARDSKU"]),
    ],
    ids=["no-rev", "no-revision", "rev-shaped", "no-sku"],
)
def test_an_identity_field_without_a_source_is_refused_naming_it(
    board: BoardId, prof: Profile, named: list[str]
) -> None:
    with pytest.raises(ConfigError) as info:
        flash_identity(board, prof)
    message = str(info.value)
    assert "BOARDID BOARDSKU FAB BOARDREV together" in message
    for name in named:
        assert f"{name} has no source" in message
    others = {"BOARDID", "BOARDSKU", "FAB", "BOARDREV"} - set(named)
    assert not any(f"{name} has no source" in message for name in others)


def in_recovery(dut: SimDut) -> SimDut:
    Boardctl(
        LocalSide(dut.lft), dut.boardctl_target, timeout=30, serial=dut.boardctl_serial
    ).recovery()
    return dut


def test_eeprom_read_parses_the_simulated_thor(host: SimHost, tmp_path: Path) -> None:
    dut = in_recovery(host.add_dut("thor", "thor-agx", release="R39.2.0", speed=FAST))
    log = tmp_path / "eeprom.log"
    reading = read_boardid(LocalSide(dut.lft), timeout=60, log=log)
    board = reading.board_id
    assert (board.board_id, board.sku, board.baseboard_id) == ("3834", "0008", "4071")
    assert board.board == "jetson-agx-thor-devkit"
    assert board.hwchipid == "0x26"
    assert "--- Parsing board ID (3834) succeeded." in reading.output
    assert reading.log_path == log and "Parsing baseboard EEPROM:" in log.read_text()


def test_eeprom_read_without_rcm_names_nvidias_error(host: SimHost) -> None:
    dut = host.add_dut("orin", "orin-agx", speed=FAST)
    with pytest.raises(BenchError) as info:
        read_boardid(LocalSide(dut.lft), timeout=60)
    message = str(info.value)
    assert "exit 5" in message
    assert "*** Error: No Jetson device found." in message
    assert "not in recovery" in message


def test_two_duts_in_rcm_are_each_read_with_their_usb_instance(host: SimHost) -> None:
    """nvautoflash refuses two Jetsons in recovery only without ``--usb-instance``."""
    first = in_recovery(host.add_dut("orin-a", "orin-agx", speed=FAST))
    second = in_recovery(
        host.add_dut("orin-b", "orin-agx", faults=("eeprom_sku_mismatch",), speed=FAST)
    )
    with pytest.raises(BenchError) as info:
        read_boardid(LocalSide(first.lft), timeout=60)
    assert "exit 6" in str(info.value)
    assert "*** Error: Too many Jetson devices found." in str(info.value)
    assert "set usb_port in the bench entry" in str(info.value)
    mine = read_boardid(LocalSide(first.lft), usb_instance=first.usb_port, timeout=60)
    theirs = read_boardid(LocalSide(first.lft), usb_instance=second.usb_port, timeout=60)
    assert mine.command.endswith(f"--print_boardid --usb-instance {first.usb_port}")
    assert "2 connections found." in mine.output
    assert (mine.board_id.sku, theirs.board_id.sku) == (
        first.state().eeprom.sku,
        second.state().eeprom.sku,
    )
    assert mine.board_id.sku != theirs.board_id.sku
    with pytest.raises(BenchError, match=r"exit 7: \*\*\* Error: ECID read failed\."):
        read_boardid(LocalSide(first.lft), usb_instance="1-9", timeout=60)


@pytest.mark.parametrize(
    ("board", "release", "eeprom"),
    [
        pytest.param("orin-agx", None, {"sku": "", "fab": ""}, id="orin-empty-sku"),
        pytest.param("thor-agx", "R38.4.0", {"baseboard_id": "5678"}, id="thor-custom-carrier"),
    ],
)
def test_a_board_not_in_nvidias_table_is_still_read(
    host: SimHost, board: str, release: str | None, eeprom: dict[str, str]
) -> None:
    """nvautoflash prints the EEPROM fields, then exits 10: that is the reading."""
    dut = host.add_dut("dut", board, release=release, speed=FAST)
    dut.store.update(
        lambda s: dataclasses.replace(s, eeprom=dataclasses.replace(s.eeprom, **eeprom))
    )
    in_recovery(dut)
    reading = read_boardid(LocalSide(dut.lft), usb_instance=dut.usb_port, timeout=60)
    assert not reading.in_table
    assert "Error: Target board not found." in reading.output
    expected = dataclasses.replace(dut.state().eeprom)
    assert (reading.board_id.board_id, reading.board_id.sku, reading.board_id.fab) == (
        expected.board_id,
        expected.sku,
        expected.fab,
    )
    assert reading.board_id.baseboard_id == (expected.baseboard_id or "")
