"""What the preflight checks found, as small frozen values the flow reads (never a dict).

Each built-in check attaches one finding to its outcome: 5.1 the image it checked
(:class:`ImageChecked`), 5.2 the DUT seen in recovery (:class:`InRecovery`), 5.3 the EEPROM
reading and its reconciliation with the profile (:class:`EepromChecked`), 5.4 the default-user
decision (:class:`~pytest_jetson.drivers.defaultuser.UserStaging`). :class:`Findings` gathers
them for one DUT: the flow tool's ``--usb-instance`` and board-identity variables, the plan's
EEPROM and default-user lines, and the login all read it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pytest_jetson.drivers.defaultuser import UserStaging
from pytest_jetson.drivers.eeprom import BoardId, CrossCheck, EepromReading
from pytest_jetson.drivers.usb import RcmDevice


@dataclass(frozen=True)
class ImageChecked:
    """5.1: the tree that was checked, for which flow tool, and whether the initrd files
    were part of it (only for ``l4t_initrd_flash.sh``)."""

    lft: Path
    flow_tool: str | None
    initrd_checked: bool


@dataclass(frozen=True)
class InRecovery:
    """5.2: the DUT seen in RCM, and what boardctl printed when it was asked for recovery
    (None for manual recovery)."""

    device: RcmDevice
    boardctl_output: str | None = None


@dataclass(frozen=True)
class EepromChecked:
    """5.3: the EEPROM as read in recovery, and its reconciliation with the profile."""

    reading: EepromReading
    cross_check: CrossCheck

    @property
    def board_id(self) -> BoardId:
        """The parsed EEPROM record."""
        return self.reading.board_id

    @property
    def plan(self) -> tuple[str, str]:
        """The plan's ``DUT EEPROM → ...`` and ``Profile → ...`` lines."""
        return self.cross_check.plan_lines()


Finding = ImageChecked | InRecovery | EepromChecked | UserStaging
"""What one built-in check found."""


@dataclass(frozen=True)
class Findings:
    """What the preflight found out about one DUT so far (None: not known yet)."""

    image: ImageChecked | None = None
    rcm: InRecovery | None = None
    eeprom: EepromChecked | None = None
    staging: UserStaging | None = None

    @classmethod
    def of(cls, found: Iterable[Finding | None]) -> Findings:
        """Gather findings (the outcomes' ones, in any order; the last of a kind wins)."""
        image = rcm = eeprom = staging = None
        for finding in found:
            if isinstance(finding, ImageChecked):
                image = finding
            elif isinstance(finding, InRecovery):
                rcm = finding
            elif isinstance(finding, EepromChecked):
                eeprom = finding
            elif isinstance(finding, UserStaging):
                staging = finding
        return cls(image, rcm, eeprom, staging)

    @property
    def device(self) -> RcmDevice | None:
        """The DUT as the RCM check saw it."""
        return None if self.rcm is None else self.rcm.device

    @property
    def board_id(self) -> BoardId | None:
        """The EEPROM record read in recovery."""
        return None if self.eeprom is None else self.eeprom.board_id

    @property
    def user_staged(self) -> bool:
        """Whether a user is (or was just) staged in the rootfs, so the board logs in."""
        return self.staging is not None and self.staging.resolution != "skip"
