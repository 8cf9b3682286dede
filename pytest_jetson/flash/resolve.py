"""Resolve what a flash would do, from the profile, the tree and the board's identity.

One resolution serves the flow (after the preflight read the EEPROM) and the offline
``python -m pytest_jetson plan`` (EEPROM values given, or the profile's): the conf is evaluated
in bash with the environment flash.sh would have, the flow tool and its argv are chosen from
those values, and every file the flow needs is looked up where the evaluated conf names it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pytest_jetson.drivers.eeprom import BoardId, flash_identity
from pytest_jetson.errors import ConfigError, UsageError
from pytest_jetson.flash.tool import INITRD_FLASH, FlowChoice, choose_flow
from pytest_jetson.lft.conf import BoardIdentity, evaluate_conf, flash_sh_identity
from pytest_jetson.lft.needs import CONF_FILES, NeededFile, missing, needed_files
from pytest_jetson.lft.paths import Lft
from pytest_jetson.lft.release import parse_version
from pytest_jetson.profile import Profile

PLAN_VARIABLES: tuple[str, ...] = (
    *CONF_FILES,
    "EXTERNAL_DEVICE",
    "INTERNAL_PT_LAYOUT",
    "BPFDTB_FILE",
    "BPFFILE",
    "PINMUX_CONFIG",
    "PMC_CONFIG",
    "PMIC_CONFIG",
)
"""The conf variables the plan consumes (shown in the plan, covered by the image digest)."""

EEPROM_KEYS: tuple[str, ...] = ("board_id", "board_sku", "board_FAB", "board_REV", "chip_SKU")
"""The EEPROM values as the plan shows them (and as ``plan --eeprom`` takes them)."""


class MissingFiles(ConfigError):
    """Files the evaluated conf names are absent from the image (a defect of the image)."""

    def __init__(self, lft: Lft, files: tuple[NeededFile, ...]) -> None:
        self.files = files
        parts = [f.problem(lft) for f in files]
        fixes = dict.fromkeys(f.fix for f in files)
        super().__init__(
            f"the flow needs files the image lacks: {'; '.join(parts)}. Fix: {' '.join(fixes)}"
        )


@dataclass(frozen=True)
class Resolution:
    """The image side of a plan: conf values, flow tool and argv, EEPROM as shown."""

    choice: FlowChoice
    conf: Mapping[str, str]
    eeprom: Mapping[str, str]
    version: str
    missing: tuple[NeededFile, ...] = ()
    """Files the flow needs that the tree lacks (the flow refuses; the offline plan shows)."""


def eeprom_shown(board: BoardId) -> dict[str, str]:
    """The EEPROM values under the names the plan shows (``board_FAB``, ...)."""
    values = (board.board_id, board.sku, board.fab, board.rev, board.chip_sku)
    return dict(zip(EEPROM_KEYS, values, strict=True))


def parse_eeprom(text: str) -> BoardId:
    """``board_id=3701,board_sku=0000,board_FAB=500,board_REV=J.0[,chip_SKU=00:00:00:D0]``.

    A key left out is an empty EEPROM field; an unknown key or a word without ``=`` is a
    :class:`UsageError` naming the valid keys.
    """
    found: dict[str, str] = {}
    for word in filter(None, (w.strip() for w in text.split(","))):
        key, sep, value = word.partition("=")
        if not sep or key.strip() not in EEPROM_KEYS:
            raise UsageError(
                f"--eeprom: {word!r} is not KEY=VALUE with KEY one of {', '.join(EEPROM_KEYS)}"
            )
        found[key.strip()] = value.strip()
    get = found.get
    return BoardId(
        board_id=get("board_id", ""),
        sku=get("board_sku", ""),
        fab=get("board_FAB", ""),
        rev=get("board_REV", ""),
        chip_sku=get("chip_SKU", ""),
    )


def release_of(lft: Lft, profile: Profile) -> str:
    """The tree's release (``R36.4.3``), else the profile's ``bsp_image.version``."""
    try:
        return lft.release().version
    except ConfigError:
        if profile.bsp_image is not None and profile.bsp_image.version:
            return profile.bsp_image.version
        raise


def resolve(
    profile: Profile,
    lft: Path,
    *,
    board: BoardId,
    boot_device: str | None,
    usb_port: str | None,
) -> Resolution:
    """Evaluate the conf for ``board`` as flash.sh will see it and choose the flow.

    The tool's identity words follow the all-or-nothing rule
    (:func:`~pytest_jetson.drivers.eeprom.flash_identity`); the conf is then evaluated with the
    identity flash.sh will dispatch on (:func:`~pytest_jetson.lft.conf.flash_sh_identity`),
    the chip SKU when known and ``ROOTFS_AB`` when the profile asks for it.
    """
    tree = Lft(lft)
    identity = flash_identity(board, profile)
    eeprom = BoardIdentity(board.board_id, board.sku, board.fab, board.rev)
    seen = flash_sh_identity(eeprom, identity)
    values = evaluate_conf(
        tree,
        profile.flash_config,
        board_id=seen.board_id,
        board_sku=seen.sku,
        fab=seen.fab,
        board_rev=seen.rev,
        chip_sku=board.chip_sku,
        boot_device=boot_device or "",
        rootfs_ab=profile.rootfs_ab,
        variables=PLAN_VARIABLES,
    )
    version = release_of(tree, profile)
    choice = choose_flow(
        profile.chip,
        profile.board,
        boot_device,
        lft=lft,
        conf_vars=values,
        release_major=parse_version(version)[0],
        usb_port=usb_port,
        identity=identity,
        rootfs_ab=profile.rootfs_ab,
    )
    files = needed_files(tree, values, initrd_flow=choice.tool == INITRD_FLASH)
    files += [NeededFile("layout", tree.path(layout)) for layout in choice.layouts]
    return Resolution(choice, values, eeprom_shown(board), version, tuple(missing(tree, files)))


def require_files(lft: Path, resolution: Resolution) -> None:
    """Refuse a resolution whose files are missing (:class:`MissingFiles`)."""
    if resolution.missing:
        raise MissingFiles(Lft(lft), resolution.missing)
