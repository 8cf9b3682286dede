"""The DUT's EEPROM: ``nvautoflash.sh --print_boardid`` parsed, and cross-checked with a profile.

Procedure step 5.3. The EEPROM is authoritative: a real, non-empty disagreement with the
profile is a refusal whose fix is the profile; an empty EEPROM value (or an unset profile value)
never conflicts. Output lines and exit codes are nvautoflash.sh's (5: no Jetson found, 6: more
than one, 10: no conf for the board). The EEPROM holds both a FAB (``500``, ``RC1``) and a REV
(``M.0``): a profile revision that looks like ``X.N`` compares with REV, anything else with FAB.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pytest_jetson.errors import BenchError, ConfigError
from pytest_jetson.host.command import Command
from pytest_jetson.profile import Profile

if TYPE_CHECKING:
    from pytest_jetson.drivers.side import BenchSide

NVAUTOFLASH = "nvautoflash.sh"
RC_NOT_IN_TABLE = 10
"""nvautoflash's ``Error: Target board not found.``: no conf row for the board id + SKU."""

_FIELDS: dict[str, re.Pattern[str]] = {
    "board_id": re.compile(r"Parsing board ID \(([^)]*)\)"),
    "fab": re.compile(r"Parsing board version \(([^)]*)\)"),
    "sku": re.compile(r"Parsing board SKU \(([^)]*)\)"),
    "rev": re.compile(r"Parsing board REV \(([^)]*)\)"),
    "baseboard_id": re.compile(r"Parsing baseboard ID \(([^)]*)\)"),
}
_CHIP = re.compile(r"Chip SKU\(([^)]*)\)(?:\s*ramcode\(([^)]*)\))?")
_ECID = re.compile(r"Reading ECID \.\.\.\s*(.*)$")
_ERROR = re.compile(r"^\s*(?:\*\*\* |--- )?Error:.*$", re.IGNORECASE | re.MULTILINE)

_HINTS: dict[int, str] = {
    4: "nvautoflash.sh must run in ONLINE mode (a DUT attached over USB)",
    5: "the DUT is not in recovery: check RCM first",
    6: "more than one Jetson is in recovery on this host and the read was not given the DUT's "
    "RCM port: set usb_port in the bench entry (the read then gets --usb-instance)",
    7: "the ECID read failed: re-enter recovery and retry",
    8: "the Jetson in recovery is not a chip this BSP supports",
    10: "nvautoflash printed no board ID before giving up (no EEPROM reading)",
    11: "the BSP knows no boot device for this board id/SKU",
    14: "a step of the EEPROM read failed (see the output)",
}

_REVISION_AS_REV = re.compile(r"^[A-Za-z]\.\d+$")
_MODULE_ID = re.compile(r"^[pP]?(\d{4})$")


@dataclass(frozen=True)
class BoardId:
    """What the DUT's EEPROM says, as ``nvautoflash.sh --print_boardid`` prints it.

    Every value is a string; an empty EEPROM field (or one the output does not report) is
    ``""``. ``baseboard_id`` is reported on T264 only.
    """

    board_id: str
    sku: str
    fab: str
    rev: str
    chip_sku: str = ""
    """``00:00:00:D0``; the 4th colon field selects the BPMP firmware."""
    ramcode: str = ""
    baseboard_id: str = ""
    board: str = ""
    """The board name nvautoflash matched (first word of its last line), e.g.
    ``jetson-agx-orin-devkit``."""
    hwchipid: str = ""
    """``0x23`` or ``0x26``, from the ECID line."""
    fuselevel: str = ""
    bootauth: str = ""

    @property
    def module_id(self) -> str:
        """The module id as profiles spell it (``p3701``), or ``""``."""
        return f"p{self.board_id}" if self.board_id else ""


@dataclass(frozen=True)
class EepromReading:
    """One EEPROM read: the parsed record plus the raw output kept for the report."""

    board_id: BoardId
    output: str
    command: str
    log_path: Path | None
    in_table: bool = True
    """False when nvautoflash has no conf row for this board id + SKU (R38.4 Thor: also the
    baseboard): it prints the EEPROM fields, then ``Error: Target board not found.`` and exits
    10. Expected for an empty SKU and for custom carriers; the reading is still the EEPROM."""


def parse_boardid(output: str) -> BoardId:
    """Parse ``nvautoflash.sh --print_boardid`` output into a :class:`BoardId`.

    Raises :class:`BenchError` when the output carries no board ID line at all.
    """
    values = {key: _search(pattern, output) for key, pattern in _FIELDS.items()}
    if not any(pattern.search(output) for pattern in (_FIELDS["board_id"], _FIELDS["sku"])):
        raise BenchError(
            "could not find the board ID in the nvautoflash.sh --print_boardid output",
            output=output,
        )
    chip = _CHIP.search(output)
    ecid = _ecid_fields(output)
    lines = [line for line in output.splitlines() if line.strip()]
    last = lines[-1].strip() if lines else ""
    board = last.split()[0] if last.endswith("found.") and " " in last else ""
    return BoardId(
        board_id=values["board_id"],
        sku=values["sku"],
        fab=values["fab"],
        rev=values["rev"],
        chip_sku=(chip.group(1) or "").strip() if chip else "",
        ramcode=(chip.group(2) or "").strip() if chip else "",
        baseboard_id=values["baseboard_id"],
        board=board,
        hwchipid=ecid.get("hwchipid", ""),
        fuselevel=ecid.get("FUSELEVEL", ""),
        bootauth=ecid.get("bootauth", ""),
    )


def read_boardid(
    side: BenchSide,
    *,
    usb_instance: str | None = None,
    timeout: float = 180.0,
    sudo: bool = True,
    log: Path | None = None,
    on_line: Callable[[str], None] | None = None,
) -> EepromReading:
    """Read the DUT's EEPROM with ``./nvautoflash.sh --print_boardid`` in the side's tree.

    Runs through ``sudo -n`` when ``sudo`` and not root. The DUT must be in recovery.
    ``usb_instance`` (the DUT's RCM port path) is given as ``--usb-instance``, so the read
    works with other Jetsons in recovery on the host. The reading is what the tool printed:
    exit 10 after the board ID lines is a reading not in NVIDIA's table (``in_table`` False).
    Other failures become a :class:`BenchError` quoting NVIDIA's error line with a hint.
    """
    args = ["--print_boardid", *(("--usb-instance", usb_instance) if usb_instance else ())]
    if not (side.view / NVAUTOFLASH).is_file():
        raise BenchError(
            f"{side.lft / NVAUTOFLASH} not found: the image is not a Linux_for_Tegra tree"
        )
    result = side.transport.run(
        Command(
            [f"./{NVAUTOFLASH}", *args],
            cwd=side.lft,
            timeout=timeout,
            what=f"the EEPROM read (nvautoflash.sh {' '.join(args)})",
            log=log,
            on_line=on_line,
            sudo=sudo,
        )
    )
    if result.returncode == RC_NOT_IN_TABLE and _FIELDS["board_id"].search(result.output):
        board = parse_boardid(result.output)
        return EepromReading(board, result.output, result.command, log, in_table=False)
    if not result.ok:
        errors = _ERROR.findall(result.output)
        said = errors[-1].strip() if errors else result.tail(5)
        hint = _HINTS.get(result.returncode)
        where = f" (log: {log})" if log is not None else ""
        raise BenchError(
            f"the EEPROM read failed with exit {result.returncode}: {said}"
            + (f"; {hint}" if hint else "")
            + where,
            output=result.output,
        )
    return EepromReading(parse_boardid(result.output), result.output, result.command, log)


FieldStatus = Literal["match", "mismatch", "eeprom-empty", "profile-unset", "not-compared"]


@dataclass(frozen=True)
class FieldCheck:
    """One EEPROM value compared with one profile value."""

    profile_key: str
    """Where the profile value lives, e.g. ``reference_devkit.module.sku``."""
    eeprom_label: str
    """What the EEPROM calls it, e.g. ``board_sku``."""
    eeprom: str
    profile: str | None
    status: FieldStatus

    @property
    def conflict(self) -> bool:
        """True for a real, non-empty disagreement."""
        return self.status == "mismatch"


@dataclass(frozen=True)
class CrossCheck:
    """The EEPROM/profile reconciliation of step 5.3."""

    board_id: BoardId
    profile_path: Path
    fields: tuple[FieldCheck, ...]

    @property
    def ok(self) -> bool:
        """No real disagreement."""
        return not self.mismatches

    @property
    def mismatches(self) -> tuple[FieldCheck, ...]:
        """The fields where EEPROM and profile really disagree."""
        return tuple(f for f in self.fields if f.conflict)

    def refusal(self) -> str:
        """The refusal message (empty when ``ok``): both values of each disagreement."""
        if self.ok:
            return ""
        parts = [
            f"{f.profile_key} is {f.profile!r} in the profile but the DUT's EEPROM says "
            f"{f.eeprom_label} {f.eeprom!r}"
            for f in self.mismatches
        ]
        return f"the DUT's EEPROM disagrees with profile {self.profile_path}: " + "; ".join(parts)

    def fix(self) -> str:
        """How to resolve the refusal: the profile values to set (EEPROM is authoritative)."""
        if self.ok:
            return ""
        sets = ", ".join(f"{f.profile_key}: {f.eeprom!r}" for f in self.mismatches)
        return (
            f"The EEPROM is authoritative: fix the profile {self.profile_path} ({sets}), "
            "or flash a board that matches it"
        )

    def plan_lines(self) -> tuple[str, str]:
        """The two plan lines: ``DUT EEPROM → ...`` and ``Profile → ...``."""
        by_label = {f.eeprom_label: f for f in self.fields}
        sku, fab = by_label.get("board_sku"), by_label.get("board_FAB")
        rev = by_label.get("board_REV")
        revision = fab if fab is not None else rev
        eeprom = (
            f"DUT EEPROM → board_sku={_or(self.board_id.sku, '(empty)')} "
            f"board_FAB={_or(self.board_id.fab, '(empty)')}"
        )
        profile = (
            f"Profile → module.sku={_or(sku.profile if sku else None, '(any)')} "
            f"module.revision={_or(revision.profile if revision else None, '(any)')}"
        )
        return eeprom, profile


def cross_check(board_id: BoardId, profile: Profile) -> CrossCheck:
    """Compare the EEPROM with ``profile`` (5.3): module, SKU, FAB or REV, chip, T264 baseboard."""
    module = profile.reference_devkit.module
    chip = profile.chip
    fields = [
        _compare(
            "reference_devkit.module.id", "board_id", board_id.board_id, module.id, _board_number
        ),
        _compare("reference_devkit.module.sku", "board_sku", board_id.sku, module.sku),
    ]
    revision = module.revision
    label, value = ("board_FAB", board_id.fab)
    if revision is not None and _REVISION_AS_REV.match(revision.strip()):
        label, value = ("board_REV", board_id.rev)
    fields.append(_compare("reference_devkit.module.revision", label, value, revision))
    fields.append(_compare("chip family", "hwchipid", board_id.hwchipid, f"0x{chip.chip_id:02x}"))
    if chip.catalogue_id == "t264":
        fields.append(_baseboard(board_id, profile))
    return CrossCheck(board_id, profile.path, tuple(fields))


IDENTITY_FIELDS: tuple[tuple[str, str], ...] = (
    ("BOARDID", "board_id"),
    ("BOARDSKU", "board_sku"),
    ("FAB", "board_FAB"),
    ("BOARDREV", "board_REV"),
)
"""The variables that stand for the EEPROM read, with the name the plan shows each under."""


def flash_identity(board_id: BoardId, profile: Profile) -> dict[str, str]:
    """The ``BOARDID BOARDSKU FAB BOARDREV`` words the flow tool needs: all four, or none.

    flash.sh reads the EEPROM only when ``FAB`` is empty; with ``FAB`` set it takes
    ``BOARDID``, ``BOARDSKU`` and ``BOARDREV`` from the environment alone (empty when not
    given), and the conf hook then stops at ``Unrecognized module SKU``. So when the EEPROM
    leaves the board id, SKU or FAB empty, all four are passed together: the EEPROM's value
    where it has one, else the profile's ``module.id``, ``module.sku`` and ``module.revision``
    (a ``X.N`` revision is the REV, anything else the FAB). A field with no source at all is
    a :class:`~pytest_jetson.errors.ConfigError` naming it. A populated EEPROM gives nothing:
    flash.sh reads it itself and it is authoritative.
    """
    if board_id.board_id and board_id.sku and board_id.fab:
        return {}
    module = profile.reference_devkit.module
    revision = (module.revision or "").strip()
    rev_form = _REVISION_AS_REV.match(revision) is not None
    values = {
        "BOARDID": board_id.board_id or (_board_number(module.id) or ""),
        "BOARDSKU": board_id.sku or (module.sku or "").strip(),
        "FAB": board_id.fab or ("" if rev_form else revision),
        "BOARDREV": board_id.rev or (revision if rev_form else ""),
    }
    missing = [name for name, value in values.items() if not value]
    if missing:
        labels = dict(IDENTITY_FIELDS)
        where = {
            "BOARDID": "reference_devkit.module.id (pNNNN)",
            "BOARDSKU": "reference_devkit.module.sku",
            "FAB": "reference_devkit.module.revision (a FAB such as 500 or RC1)",
            "BOARDREV": "reference_devkit.module.revision (a REV such as J.0)",
        }
        raise ConfigError(
            "the flow tool must be given BOARDID BOARDSKU FAB BOARDREV together (flash.sh "
            "skips the EEPROM read when FAB is set), but "
            + "; ".join(
                f"{name} has no source: the EEPROM's {labels[name]} is empty and the profile "
                f"gives no {where[name]}"
                for name in missing
            ),
            path=str(profile.path),
            key="reference_devkit.module",
        )
    return values


def profile_board(profile: Profile) -> BoardId:
    """The EEPROM a board matching ``profile`` would hold (a plan made without reading one).

    ``module.id`` gives the board id, ``module.sku`` the SKU, and ``module.revision`` the REV
    when shaped ``X.N``, else the FAB; what the profile does not say stays empty.
    """
    module = profile.reference_devkit.module
    revision = (module.revision or "").strip()
    rev_form = _REVISION_AS_REV.match(revision) is not None
    return BoardId(
        board_id=_board_number(module.id) or "",
        sku=(module.sku or "").strip(),
        fab="" if rev_form else revision,
        rev=revision if rev_form else "",
    )


def _baseboard(board_id: BoardId, profile: Profile) -> FieldCheck:
    if profile.custom_carrier is not None:
        key, wanted = "custom_carrier.id", profile.custom_carrier.id
    else:
        key, wanted = "reference_devkit.carrier.id", profile.reference_devkit.carrier.id
    if _board_number(wanted) is None:
        # A custom carrier named by a free token cannot be compared with a numeric id.
        return FieldCheck(key, "baseboard_id", board_id.baseboard_id, wanted, "not-compared")
    return _compare(key, "baseboard_id", board_id.baseboard_id, wanted, _board_number)


def _compare(
    key: str,
    label: str,
    eeprom: str,
    wanted: str | None,
    normalize: Callable[[str], str | None] = lambda v: v.strip().lower(),
) -> FieldCheck:
    value = eeprom.strip()
    if wanted is None or not wanted.strip():
        return FieldCheck(key, label, value, wanted, "profile-unset")
    if not value:
        return FieldCheck(key, label, value, wanted, "eeprom-empty")
    same = normalize(value) == normalize(wanted)
    return FieldCheck(key, label, value, wanted, "match" if same else "mismatch")


def _board_number(board: str) -> str | None:
    """``p3701`` and ``3701`` both give ``3701``; anything else gives None."""
    match = _MODULE_ID.match(board.strip())
    return match.group(1) if match else None


def _search(pattern: re.Pattern[str], text: str) -> str:
    match = pattern.search(text)
    return match.group(1).strip() if match else ""


def _ecid_fields(output: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in output.splitlines():
        match = _ECID.search(line)
        if match:
            for token in match.group(1).split():
                key, sep, value = token.partition("=")
                if sep:
                    fields[key] = value
    return fields


def _or(value: str | None, default: str) -> str:
    return value if value else default
