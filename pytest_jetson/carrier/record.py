"""The result record of a derivation and its printed summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

RowStatus = Literal["forked", "already derived", "warn-skipped", "skipped"]

ROW_NAMES: tuple[str, ...] = (
    "flash-conf",
    "flash-conf symlink",
    "mb1 pinmux",
    "mb1 gpio",
    "mb1 padvoltage",
    "mb1 misc",
    "mb2 misc",
    "bpmp dtb",
    "nvpmodel",
    "nvfancontrol",
    "dt overlay skeleton",
    "overlay makefile",
    "overlay wire-up",
    "nvpower.sh pristine",
    "nvpower.sh customisation",
)
"""Every row of the fork plan, in the order the derivation runs them."""


@dataclass(frozen=True)
class RowResult:
    """What one row of the fork plan did."""

    row: str
    status: RowStatus
    files: tuple[str, ...] = ()
    """Paths written or verified, relative to the row's repository."""
    notes: tuple[str, ...] = ()
    """Warnings and explanations (why a row was skipped, what a hook may override)."""


@dataclass(frozen=True)
class CommitRecord:
    """One commit made by the derivation."""

    repo: Path
    role: Literal["overlay-tracker", "hardware"]
    sha: str
    message: str
    files: tuple[str, ...]
    rows: tuple[str, ...]


@dataclass(frozen=True)
class DerivedCarrier:
    """The record of one derivation (what the fixture yields and the command prints)."""

    custom_key: str
    overlay_tracker: Path
    hardware_repo: Path
    flash_conf_fork: str
    overlay_path: Path
    """The DT overlay source written in the hardware repository."""
    bpmp: str
    """The BPMP-DTB decision, e.g. ``not opted in`` or ``forked tegra234-bpmp-….dtb``."""
    rows: tuple[RowResult, ...]
    commits: tuple[CommitRecord, ...]
    pushed: str | None = None
    """``origin/<branch>`` when the hardware commit was pushed, else None."""
    warnings: tuple[str, ...] = field(default=())
    skipped: tuple[str, ...] = field(default=())
    """Every warn-and-skip, as ``<row>: <reason>`` (rows, BCT values, nvpower.sh insertions)."""

    @property
    def already_derived(self) -> bool:
        """True when nothing was committed because every row was already in place."""
        return not self.commits and all(r.status != "forked" for r in self.rows)

    def row(self, name: str) -> RowResult:
        """The result of row ``name`` (KeyError when the row did not run)."""
        for result in self.rows:
            if result.row == name:
                return result
        raise KeyError(name)

    @property
    def warn_skipped(self) -> tuple[RowResult, ...]:
        """The rows recorded as warn-and-skip."""
        return tuple(r for r in self.rows if r.status == "warn-skipped")

    def shas(self, role: str) -> tuple[str, ...]:
        """The commit SHAs made in the repository of ``role``, oldest first."""
        return tuple(c.sha for c in self.commits if c.role == role)

    def summary(self) -> str:
        """The human summary: commits per repository, rows, warnings, BPMP, overlay path."""
        lines = [f"derive-carrier {self.custom_key}: flash conf {self.flash_conf_fork}"]
        for role, path in (
            ("overlay-tracker", self.overlay_tracker),
            ("hardware", self.hardware_repo),
        ):
            commits = [c for c in self.commits if c.role == role]
            lines.append(f"  {role} {path}: {len(commits)} commit(s)")
            lines.extend(f"    {c.sha[:12]} {c.message.splitlines()[0]}" for c in commits)
        if self.pushed:
            lines.append(f"  pushed hardware commits to {self.pushed}")
        lines.append("  rows:")
        for result in self.rows:
            lines.append(f"    {result.row}: {result.status}")
            lines.extend(f"      {path}" for path in result.files)
            lines.extend(f"      ! {note}" for note in result.notes)
        lines.append(f"  warn-and-skipped: {len(self.skipped) or 'none'}")
        lines.extend(f"    {entry}" for entry in self.skipped)
        lines.append(f"  BPMP DTB: {self.bpmp}")
        lines.append(f"  overlay: {self.overlay_path}")
        lines.extend(f"  warning: {w}" for w in self.warnings)
        if self.already_derived:
            lines.append("  already derived: no commit made")
        return "\n".join(lines)
