"""``--jetson-flash=auto`` on the board: boot it, read its identity, decide (see
:mod:`pytest_jetson.flash.record` for what must hold), and go back to recovery to flash when
the answer is "flash".

The skip costs one boot out of recovery (``boardctl reset``), one login and four reads over the
serial shell; a "flash" after that costs another ``boardctl recovery``. On real hardware the
flash it replaces is 10-20 minutes of USB transfer.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from pytest_jetson.console.errors import ConsoleSilent
from pytest_jetson.errors import BenchError, ConfigError, JetsonError
from pytest_jetson.flash.record import (
    Decision,
    DeviceIdentity,
    HostRecord,
    boot_entry_paths,
    decide,
    identity_candidate,
    parse_sha256sum,
)

if TYPE_CHECKING:
    from pytest_jetson.console.shell import Shell
    from pytest_jetson.flash.procedure import FlashFlow


def read_identity(shell: Shell) -> DeviceIdentity | str:
    """The booted board's identity over its shell, or why it could not be read.

    The release and GCID come from ``/etc/nv_tegra_release``, the slot from ``nvbootctrl
    get-current-slot``, the kernel and DTB from the files the default ``extlinux.conf`` entry
    names (``LINUX``, ``FDT``): the ones UEFI's L4T launcher boots. Without an ``FDT`` line the
    DTB comes from a partition the rootfs cannot hash, so the identity is unreadable.
    """
    from pytest_jetson.lft.release import parse_nv_tegra_release

    try:
        release = parse_nv_tegra_release(shell.run("cat /etc/nv_tegra_release"))
        slot = shell.run("nvbootctrl get-current-slot").strip()
        linux, fdt = boot_entry_paths(shell.run("cat /boot/extlinux/extlinux.conf"))
        if fdt is None:
            return "extlinux.conf names no FDT: the booted DTB cannot be hashed from the rootfs"
        sums = parse_sha256sum(shell.run(f"sha256sum {shlex.quote(linux)} {shlex.quote(fdt)}"))
    except (JetsonError, ConfigError) as exc:
        return str(exc).splitlines()[0]
    if slot not in ("0", "1"):
        return f"nvbootctrl get-current-slot printed {slot!r}, not 0 or 1"
    if linux not in sums or fdt not in sums:
        return f"sha256sum did not hash {linux} and {fdt}"
    return DeviceIdentity(release.version, release.gcid, slot, sums[linux], sums[fdt])


def decide_reflash(flow: FlashFlow) -> Decision:
    """Decide for the DUT of ``flow`` (in recovery after the preflights); on "flash" the DUT
    is back in recovery when this returns."""
    records = flow.records
    if records is None or flow.image_digest is None:
        return Decision(False, "no-record", "no host record for a DUT without a lock folder")
    record: HostRecord | ValueError | None
    try:
        record = records.read()
    except ValueError as exc:
        record = exc
    marker = records.provisioning()
    early = identity_candidate(marker=marker, record=record, image_digest=flow.image_digest)
    if early is not None:
        return early
    why = _cannot_verify(flow)
    if why is None:
        found = _boot_and_read(flow)
    else:
        return decide(marker=marker, record=record, image_digest=flow.image_digest, identity=why)
    decision = decide(marker=marker, record=record, image_digest=flow.image_digest, identity=found)
    if not decision.skip:
        _back_to_recovery(flow)
    return decision


def _cannot_verify(flow: FlashFlow) -> str | None:
    """Why the board cannot be booted and read without flashing, or None."""
    dut = flow.dut
    user = dut.entry.default_user
    if user is not None and user.kind == "skip":
        return "no user to log in with (default_user: skip)"
    if not dut.findings.user_staged and user is None:
        return "no user to log in with (no default user)"
    if dut.boardctl() is None:
        return "manual recovery: the board cannot be booted out of recovery unattended"
    return None


def _boot_and_read(flow: FlashFlow) -> DeviceIdentity | str:
    """Boot the board out of recovery, validate the boot stages, log in and read it."""
    from pytest_jetson.flash.procedure import BOOT_STAGES

    dut = flow.dut
    boardctl = dut.boardctl()
    assert boardctl is not None
    flow.dut.console().discard()
    flow.emit(f"jetson flash {dut.name}: booting the board to verify what it runs")
    flow.mark_reset()
    boardctl.reset()
    dut.transition("flashed")  # the boot media holds an image of ours; the check says which
    try:
        for stage in BOOT_STAGES:
            flow.boot_stage(stage)
        return read_identity(flow.shell())
    except JetsonError as exc:
        # A console silent since the reset is the bench's symptom, but the flash that follows
        # rewrites the boot chain and its own boot validation climbs the recovery ladder.
        if isinstance(exc, BenchError) and not isinstance(exc, ConsoleSilent):
            raise
        return f"the board did not boot to a shell: {str(exc).splitlines()[0]}"


def _back_to_recovery(flow: FlashFlow) -> None:
    """The board must be flashed after all: back into recovery (as the RCM check does)."""
    flow.reset_boot()
    outcome = flow.recovery()
    if not outcome.passed:
        raise BenchError(
            f"DUT {flow.dut.name}: could not return to recovery to flash: {outcome.message}"
        )
