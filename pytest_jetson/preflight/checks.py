"""Preflight checks 5.1-5.4 as plain functions returning :class:`CheckOutcome`.

Outcomes, not exceptions: ``pass``; ``defect`` (the image or the profile is wrong: the test
fails with the message and the fix); ``unavailable`` (the bench cannot answer: the test
skips). :func:`run_preflight` runs requested checks in the mandated order — host-side first,
then RCM, then EEPROM, then default-user staging — adding the checks they depend on, and never
reports a check as passed when what it needed did not pass.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from pytest_jetson.bench import BenchEntry, DefaultUser
from pytest_jetson.catalogue import ChipFamily
from pytest_jetson.drivers.boardctl import Boardctl
from pytest_jetson.drivers.defaultuser import stage_default_user, staged_user
from pytest_jetson.drivers.eeprom import EepromReading, cross_check, read_boardid
from pytest_jetson.drivers.side import BenchSide
from pytest_jetson.drivers.usb import RcmPort, poll_for_rcm
from pytest_jetson.errors import BenchError, ConfigError, UsageError
from pytest_jetson.preflight.findings import EepromChecked, Finding, ImageChecked, InRecovery
from pytest_jetson.profile import Profile

Status = Literal["pass", "defect", "unavailable"]

BSP_IMAGE, RCM, EEPROM, DEFAULT_USER = "bsp_image", "rcm", "eeprom", "default_user"
ORDER: tuple[str, ...] = (BSP_IMAGE, RCM, EEPROM, DEFAULT_USER)
"""The built-in checks in their mandated order (procedure 5.1, 5.2, 5.3, 5.4)."""

STAGE_HOST, STAGE_RCM, STAGE_EEPROM, STAGE_LAST = 0, 1, 2, 3
"""Ordering stages: host-side, RCM, EEPROM, after the DUT-side checks."""

_CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True)
class CheckOutcome:
    """The result of one preflight check."""

    name: str
    status: Status
    message: str
    fix: str = ""
    finding: Finding | None = field(default=None, compare=False)
    """What the check found (see :mod:`pytest_jetson.preflight.findings`)."""
    output: str = field(default="", compare=False)
    """The output of the tool that failed (scrubbed), for a report."""
    ran: bool = True
    """False when the check was not run (what it needs did not pass, or a defect came first)."""

    @property
    def passed(self) -> bool:
        """True for ``pass``."""
        return self.status == "pass"

    def __str__(self) -> str:
        text = f"preflight {self.name}: {self.status}: {self.message}"
        return f"{text}\nFix: {self.fix}" if self.fix else text


@dataclass(frozen=True)
class PreflightCheck:
    """A named check, the stage it runs in and the checks whose pass it needs."""

    name: str
    run: Callable[[], CheckOutcome]
    stage: int = STAGE_HOST
    needs: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------
# 5.1 bsp_image readiness (host-side)


def check_bsp_image(
    profile: Profile, *, flow_tool: str | None, lft: Path | None = None
) -> CheckOutcome:
    """5.1: the image in ``profile.bsp_image`` is ready to flash ``profile.flash_config``.

    Checks the conf (and its symlink target) inside LFT; ``kernel/dtb``, ``bootloader``,
    ``bootloader/<target_board>/BCT`` and ``rootfs`` populated; ``rootfs/etc/nv_tegra_release``
    and an L4T package record (apply_binaries.sh ran); ``kernel/Image`` identical to
    ``rootfs/boot/Image``; every file the conf, evaluated in bash for the profile's board,
    names for this flow (the kernel image, DTB, SDRAM BCT and layout; for an initrd flow
    (``flow_tool`` ``l4t_initrd_flash.sh``) the conf's ``INITRD``). ``flow_tool`` None means
    the boot device is unknown: the initrd is then not checked, and the message says so. Never
    walks ``rootfs/``. ``lft`` checks that tree instead of the profile's (a remote bench's
    local view).
    """
    if profile.bsp_image is None:
        return _defect(
            BSP_IMAGE,
            f"profile {profile.path} has no bsp_image",
            "add bsp_image: {root_path: ..., version: ...} to the profile",
        )
    lft = profile.bsp_image.lft if lft is None else lft
    if not lft.is_dir():
        return _defect(
            BSP_IMAGE,
            f"Linux_for_Tegra not found at {lft}",
            "point bsp_image.root_path at a promoted image (re-run jetson-init-image or "
            "jetson-promote-image)",
        )
    problems: list[tuple[str, str]] = []
    conf_problems = _conf_problems(lft, profile.flash_config)
    problems += conf_problems
    problems += _populated_problems(lft)
    problems += _apply_binaries_problems(lft)
    problems += _image_mirror_problems(lft)
    initrd = flow_tool is not None and "initrd" in Path(flow_tool).name
    if not conf_problems:
        problems += _conf_file_problems(profile, lft, initrd_flow=initrd)
    checked = ImageChecked(lft, flow_tool, initrd)
    if problems:
        return CheckOutcome(
            BSP_IMAGE,
            "defect",
            "; ".join(message for message, _ in problems),
            " ".join(dict.fromkeys(fix for _, fix in problems)),
            finding=checked,
        )
    note = "" if flow_tool is not None else " (boot device unknown: the initrd not checked)"
    return CheckOutcome(BSP_IMAGE, "pass", f"{lft} is ready to flash{note}", finding=checked)


def images_identical(a: Path, b: Path) -> bool:
    """Byte-for-byte equality, like ``cmp -s``: sizes first, then chunk by chunk."""
    if a.stat().st_size != b.stat().st_size:
        return False
    with a.open("rb") as fa, b.open("rb") as fb:
        while True:
            chunk = fa.read(_CHUNK)
            if chunk != fb.read(_CHUNK):
                return False
            if not chunk:
                return True


def bct_dir(lft: Path) -> Path:
    """``bootloader/<target_board>/BCT`` (``generic``; R35 trees use ``t186ref``)."""
    generic = lft / "bootloader" / "generic" / "BCT"
    legacy = lft / "bootloader" / "t186ref" / "BCT"
    return legacy if legacy.is_dir() and not generic.is_dir() else generic


def _conf_problems(lft: Path, flash_config: str) -> list[tuple[str, str]]:
    conf = lft / flash_config
    fix = (
        "run jetson-derive-carrier to produce a custom carrier's conf, or re-run "
        "jetson-promote-image / jetson-init-image to repopulate the image"
    )
    if not conf.exists():
        what = "is a dangling symlink" if conf.is_symlink() else "not found"
        return [(f"per-board conf {flash_config} {what} in {lft}", fix)]
    real = Path(os.path.realpath(conf))
    if not real.is_relative_to(Path(os.path.realpath(lft))):
        return [(f"per-board conf {flash_config} resolves to {real}, outside {lft}", fix)]
    return []


def _populated_problems(lft: Path) -> list[tuple[str, str]]:
    fix = "re-run jetson-promote-image / jetson-init-image to repopulate the image"
    wanted = [lft / "kernel" / "dtb", lft / "bootloader", bct_dir(lft)]
    problems = [
        (f"{path.relative_to(lft)}/ is missing or empty", fix)
        for path in wanted
        if not _has_entries(path)
    ]
    if not _has_entries(lft / "rootfs", ignore={"README.txt"}):
        problems.append(("rootfs/ is not populated (sample rootfs not extracted)", fix))
    return problems


def _apply_binaries_problems(lft: Path) -> list[tuple[str, str]]:
    rootfs = lft / "rootfs"
    fix = "run apply_binaries.sh in Linux_for_Tegra (or re-run jetson-init-image, which does)"
    problems = []
    if not (rootfs / "etc" / "nv_tegra_release").is_file():
        problems.append(("apply_binaries.sh not run: rootfs/etc/nv_tegra_release is missing", fix))
    if not _l4t_packages_installed(rootfs):
        problems.append(
            (
                "apply_binaries.sh not run: no nvidia-l4t-core or nvidia-l4t-bsp package "
                "is installed in rootfs",
                fix,
            )
        )
    return problems


def _l4t_packages_installed(rootfs: Path) -> bool:
    dpkg = rootfs / "var" / "lib" / "dpkg"
    if (dpkg / "info" / "nvidia-l4t-core.list").is_file():
        return True
    status = dpkg / "status"
    if not status.is_file():
        return False
    with status.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.startswith("Package: nvidia-l4t-") and (
                line.startswith("Package: nvidia-l4t-core")
                or line.startswith("Package: nvidia-l4t-bsp")
            ):
                return True
    return False


def _image_mirror_problems(lft: Path) -> list[tuple[str, str]]:
    kernel, mirror = lft / "kernel" / "Image", lft / "rootfs" / "boot" / "Image"
    if kernel.is_file() and mirror.is_file() and not images_identical(kernel, mirror):
        return [
            (
                "kernel/Image and rootfs/boot/Image differ (Image drift: the promote-image "
                "Mirror step was skipped or the image was hand-edited)",
                "re-run jetson-promote-image (its Mirror step copies kernel/Image to "
                "rootfs/boot/Image) and re-flash",
            )
        ]
    return []


def _conf_file_problems(profile: Profile, lft: Path, *, initrd_flow: bool) -> list[tuple[str, str]]:
    """Files the conf names for this flow, evaluated in bash for the profile's board (the
    EEPROM is not read yet; the plan checks again with what it says)."""
    from pytest_jetson.drivers.eeprom import profile_board
    from pytest_jetson.lft.conf import ConfDispatchError, evaluate_conf
    from pytest_jetson.lft.needs import CONF_FILES, missing, needed_files
    from pytest_jetson.lft.paths import Lft

    board = profile_board(profile)
    tree = Lft(lft)
    try:
        values = evaluate_conf(
            tree,
            profile.flash_config,
            board_id=board.board_id,
            board_sku=board.sku,
            fab=board.fab,
            board_rev=board.rev,
            chip_sku="",
            rootfs_ab=profile.rootfs_ab,
            variables=CONF_FILES,
            hooks=bool(board.sku),
        )
    except ConfDispatchError as exc:
        return [
            (
                f"{profile.flash_config} rejects the profile's module "
                f"(sku {board.sku!r}, FAB {board.fab!r}): {exc.message}",
                "set reference_devkit.module to the board this image is for",
            )
        ]
    found = missing(tree, needed_files(tree, values, initrd_flow=initrd_flow))
    return [(f.problem(tree), f.fix) for f in found]


def _has_entries(path: Path, ignore: Iterable[str] = ()) -> bool:
    if not path.is_dir():
        return False
    skip = set(ignore)
    with os.scandir(path) as entries:
        return any(entry.name not in skip for entry in entries)


# ---------------------------------------------------------------------------------------------
# 5.2 DUT in RCM


def check_rcm(
    chip: ChipFamily,
    port: RcmPort,
    *,
    timeout: float,
    boardctl: Boardctl | None = None,
    manual: bool = False,
    poll: float = 0.5,
) -> CheckOutcome:
    """5.2: drive the DUT into recovery (``boardctl`` when given) and verify it is in RCM.

    ``port`` is where the DUT shows up (this host's bus, or a labgrid place's USB resource).
    With ``manual`` the check waits for someone to press the buttons. A boardctl target that
    ``-h`` does not list is a defect; a boardctl failure or hang, or a DUT that never shows up
    in RCM, leaves the bench unavailable (with the devices seen and what to check).
    """
    boardctl_output: str | None = None
    if boardctl is not None and not manual:
        try:
            boardctl_output = boardctl.recovery().output
        except ConfigError as exc:
            return _defect(RCM, str(exc), "set boardctl_target in the bench entry to a listed one")
        except BenchError as exc:
            return CheckOutcome(
                RCM,
                "unavailable",
                f"recovery request failed: {exc}",
                "check the board automation wiring, or use recovery: manual",
                output=exc.output,
            )
    try:
        device = poll_for_rcm(
            port,
            chip,
            timeout=timeout,
            poll=poll,
            boardctl_output=boardctl_output,
            manual=manual,
        )
    except BenchError as exc:
        fix = UNNAMED_DEBUGGER if _unnamed_debugger(boardctl, manual) else ""
        return CheckOutcome(RCM, "unavailable", str(exc), fix, output=boardctl_output or "")
    return CheckOutcome(
        RCM, "pass", f"DUT in recovery: {device}", finding=InRecovery(device, boardctl_output)
    )


UNNAMED_DEBUGGER = (
    "boardctl was not told which debugger is this DUT's (no -s/-i): on a host with several, "
    "R36.2's boardctl drives the first TOPO it finds (maybe another board) and R38+ refuses; "
    "give the DUT boardctl_serial (or boardctl_index)"
)


def _unnamed_debugger(boardctl: Boardctl | None, manual: bool) -> bool:
    """Whether boardctl asked for recovery without naming its debugger."""
    return (
        boardctl is not None and not manual and boardctl.serial is None and boardctl.index is None
    )


# ---------------------------------------------------------------------------------------------
# 5.3 EEPROM cross-check


NOT_IN_TABLE = (
    " (not in nvautoflash's board table, exit 10: expected for an empty SKU or a custom carrier)"
)


def check_eeprom(
    profile: Profile,
    side: BenchSide,
    *,
    timeout: float = 180.0,
    sudo: bool = True,
    log: Path | None = None,
    reading: EepromReading | None = None,
    usb_instance: str | None = None,
) -> CheckOutcome:
    """5.3: read the EEPROM (unless ``reading`` is given) and cross-check it with ``profile``.

    The outcome's finding is an :class:`EepromChecked`: the :class:`EepromReading` (cache it
    for the session) and the reconciliation; a disagreement is a defect whose fix is the
    profile. The tool runs through ``side``, in its tree.
    ``usb_instance`` (the DUT's RCM port) is given to the read as ``--usb-instance``. A reading
    NVIDIA's table does not know (exit 10 after the fields) is cross-checked like any other.
    """
    if reading is None:
        if profile.bsp_image is None:
            return _defect(EEPROM, f"profile {profile.path} has no bsp_image", "add bsp_image")
        try:
            reading = read_boardid(
                side, usb_instance=usb_instance, timeout=timeout, sudo=sudo, log=log
            )
        except BenchError as exc:
            return CheckOutcome(EEPROM, "unavailable", str(exc), output=exc.output)
    result = cross_check(reading.board_id, profile)
    checked = EepromChecked(reading, result)
    if not result.ok:
        return CheckOutcome(EEPROM, "defect", result.refusal(), result.fix(), finding=checked)
    board = reading.board_id
    return CheckOutcome(
        EEPROM,
        "pass",
        f"EEPROM agrees with the profile: board {board.board_id or '(empty)'} "
        f"sku {board.sku or '(empty)'} FAB {board.fab or '(empty)'} "
        f"REV {board.rev or '(empty)'}" + ("" if reading.in_table else NOT_IN_TABLE),
        finding=checked,
    )


# ---------------------------------------------------------------------------------------------
# 5.4 default user


def check_default_user(
    profile: Profile,
    choice: DefaultUser | None,
    side: BenchSide,
    *,
    env: Mapping[str, str],
    timeout: float = 300.0,
    sudo: bool = True,
    log: Path | None = None,
) -> CheckOutcome:
    """5.4: keep an already-staged user, else stage the bench's choice, or record ``skip``.

    ``choice`` None (the bench does not say) is a defect unless a user is already staged.
    Not a refusal gate otherwise: it passes with the decision as its finding (a
    :class:`pytest_jetson.drivers.defaultuser.UserStaging`). A missing password variable raises
    :class:`ConfigError`; a failing staging tool leaves the bench unavailable. No password
    ever appears in the outcome. The tool runs through ``side`` in its tree; the evidence is
    read in the side's view of it.
    """
    if profile.bsp_image is None:
        return _defect(
            DEFAULT_USER,
            "no rootfs to stage a user in (profile bsp_image missing or not populated)",
            "fix bsp_image in the profile; see the bsp_image check",
        )
    local = side.view
    if not (local / "rootfs").is_dir():
        return _defect(
            DEFAULT_USER,
            "no rootfs to stage a user in (profile bsp_image missing or not populated)",
            "fix bsp_image in the profile; see the bsp_image check",
        )
    if choice is None and staged_user(local / "rootfs") is None:
        return _defect(
            DEFAULT_USER,
            "no user is staged in rootfs and the bench entry does not say default_user",
            "set default_user in the bench entry: ubuntu, nvidia, skip or "
            "{username: ..., password_env: ...}",
        )
    try:
        staging = stage_default_user(side, choice, env=env, timeout=timeout, sudo=sudo, log=log)
    except ConfigError:
        raise
    except BenchError as exc:
        return CheckOutcome(DEFAULT_USER, "unavailable", str(exc), output=exc.output)
    message = staging.plan_line
    if staging.evidence:
        message += f" [{staging.evidence}]"
    return CheckOutcome(DEFAULT_USER, "pass", message, finding=staging)


# ---------------------------------------------------------------------------------------------
# ordering


def run_preflight(
    requested: Iterable[str],
    checks: Mapping[str, PreflightCheck],
    *,
    done: Mapping[str, CheckOutcome] | None = None,
) -> tuple[CheckOutcome, ...]:
    """Run ``requested`` checks (plus what they need) in the mandated order.

    ``checks`` maps every known name to its :class:`PreflightCheck`; ``done`` holds outcomes
    already computed this session (they are reused, not re-run). An unknown name is a
    :class:`UsageError` listing the valid ones. A check whose prerequisite did not pass, or
    that follows a defect, is reported ``unavailable`` ("not run: ...") instead of running.
    Returns the outcomes in the order they ran.
    """
    wanted = list(dict.fromkeys(requested))
    unknown = [name for name in wanted if name not in checks]
    if unknown:
        raise UsageError(
            f"unknown preflight check(s) {', '.join(map(repr, unknown))}; "
            f"valid: {', '.join(sorted(checks, key=_order_key(checks)))}"
        )
    names = _in_order(_with_prerequisites(wanted, checks), checks)
    outcomes: dict[str, CheckOutcome] = {}
    first_defect: CheckOutcome | None = None
    for name in names:
        check = checks[name]
        blocked = [n for n in check.needs if not outcomes[n].passed]
        if done is not None and name in done:
            outcome = done[name]
        elif blocked:
            outcome = CheckOutcome(
                name,
                "unavailable",
                f"not run: {blocked[0]} did not pass ({outcomes[blocked[0]].message})",
                ran=False,
            )
        elif first_defect is not None and check.stage > checks[first_defect.name].stage:
            outcome = CheckOutcome(
                name,
                "unavailable",
                f"not run: {first_defect.name} found a defect first",
                ran=False,
            )
        else:
            outcome = check.run()
        outcomes[name] = outcome
        if outcome.status == "defect" and first_defect is None:
            first_defect = outcome
    return tuple(outcomes.values())


def _with_prerequisites(wanted: list[str], checks: Mapping[str, PreflightCheck]) -> list[str]:
    names: list[str] = []
    stack = list(reversed(wanted))
    while stack:
        name = stack.pop()
        if name in names:
            continue
        if name not in checks:
            raise UsageError(f"preflight check {name!r} is needed but not defined")
        names.append(name)
        for need in checks[name].needs:
            if need in checks and checks[need].stage > checks[name].stage:
                raise UsageError(
                    f"preflight check {name!r} needs {need!r}, which runs in a later stage"
                )
            stack.append(need)
    return names


def _in_order(names: list[str], checks: Mapping[str, PreflightCheck]) -> list[str]:
    """Sort by stage and built-in order, then move each check after what it needs."""
    pending = sorted(names, key=_order_key(checks))
    ordered: list[str] = []
    while pending:
        ready = next((n for n in pending if all(d in ordered for d in checks[n].needs)), None)
        if ready is None:
            raise UsageError(f"preflight checks {', '.join(pending)} need each other in a cycle")
        pending.remove(ready)
        ordered.append(ready)
    return ordered


def _order_key(checks: Mapping[str, PreflightCheck]) -> Callable[[str], tuple[int, int, str]]:
    def key(name: str) -> tuple[int, int, str]:
        builtin = ORDER.index(name) if name in ORDER else len(ORDER)
        return (checks[name].stage, builtin, name)

    return key


def _defect(name: str, message: str, fix: str) -> CheckOutcome:
    return CheckOutcome(name, "defect", message, fix)


class CheckDeadlines(Protocol):
    """The deadlines (seconds) the built-in checks wait with."""

    @property
    def rcm(self) -> float: ...

    @property
    def eeprom(self) -> float: ...

    @property
    def default_user(self) -> float: ...


class CheckSubject(Protocol):
    """What the built-in checks need of a DUT (a :class:`~pytest_jetson.dut.Dut` is one)."""

    @property
    def entry(self) -> BenchEntry: ...

    @property
    def side(self) -> BenchSide: ...

    @property
    def env(self) -> Mapping[str, str]:
        """Supplies a custom default user's password variable."""
        ...

    @property
    def sudo(self) -> bool: ...

    @property
    def deadlines(self) -> CheckDeadlines: ...

    def boardctl(self) -> Boardctl | None:
        """The DUT's boardctl, built in one place with one privilege rule (None: manual)."""
        ...

    @property
    def outcomes(self) -> Mapping[str, CheckOutcome]:
        """The checks already run (the RCM check's device gives the EEPROM read its port)."""
        ...

    def log(self, name: str) -> Path:
        """Where log ``name`` goes."""
        ...


def standard_checks(dut: CheckSubject, *, flow_tool: str | None) -> dict[str, PreflightCheck]:
    """The four built-in checks for one DUT, ready for :func:`run_preflight`.

    Every tool runs through the DUT's bench side, in its tree; the host-side checks read the
    side's view of that tree. The RCM step drives recovery with :meth:`CheckSubject.boardctl`,
    the same boardctl (and privileges) as the post-flash reset and the teardown. Logs go to
    ``boardctl.log``, ``eeprom.log`` and ``default_user.log``.
    """
    entry, side = dut.entry, dut.side
    profile = entry.profile

    def image() -> CheckOutcome:
        view = None if profile.bsp_image is None else side.view
        return check_bsp_image(profile, flow_tool=flow_tool, lft=view)

    def rcm() -> CheckOutcome:
        manual = entry.recovery == "manual"
        boardctl = None
        if not manual:
            if profile.bsp_image is None:
                return _defect(RCM, f"profile {profile.path} has no bsp_image", "add bsp_image")
            if not entry.boardctl_target:
                return _defect(
                    RCM,
                    f"bench entry {entry.name} uses recovery: boardctl but has no boardctl_target",
                    "set boardctl_target (topo for an Orin, thor-jetson-module for a Thor) "
                    "or recovery: manual",
                )
            boardctl = dut.boardctl()
        return check_rcm(
            profile.chip, side.usb, timeout=dut.deadlines.rcm, boardctl=boardctl, manual=manual
        )

    def eeprom() -> CheckOutcome:
        rcm = dut.outcomes.get(RCM)
        seen = (
            rcm.finding.device if rcm is not None and isinstance(rcm.finding, InRecovery) else None
        )
        return check_eeprom(
            profile,
            side,
            timeout=dut.deadlines.eeprom,
            sudo=dut.sudo,
            log=dut.log("eeprom.log"),
            usb_instance=side.usb_instance(seen),
        )

    def default_user() -> CheckOutcome:
        return check_default_user(
            profile,
            entry.default_user,
            side,
            env=dut.env,
            timeout=dut.deadlines.default_user,
            sudo=dut.sudo,
            log=dut.log("default_user.log"),
        )

    return {
        BSP_IMAGE: PreflightCheck(BSP_IMAGE, image, STAGE_HOST),
        RCM: PreflightCheck(RCM, rcm, STAGE_RCM),
        EEPROM: PreflightCheck(EEPROM, eeprom, STAGE_EEPROM, needs=(RCM,)),
        DEFAULT_USER: PreflightCheck(DEFAULT_USER, default_user, STAGE_LAST, needs=(BSP_IMAGE,)),
    }
