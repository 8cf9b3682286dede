"""The boot stages of each chip, their markers, and what a stage's result looks like.

T234 markers are seen in R36 logs; most T264 ones are unverified, so their patterns are loose
(any text naming MB1, MB2, UEFI firmware). Every marker is searched anywhere in the stream and
survives text of another processor spliced into it (:func:`~.tcu.tolerant`), because the debug
port of Orin and Thor carries the Tegra Combined UART.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pytest_jetson.console.tcu import tolerant


@dataclass(frozen=True)
class BootStage:
    """One boot stage: any of ``patterns`` (bytes regexes) marks it reached.

    ``end_patterns`` mark the stage over before the next one is reached (the kernel hands
    over to userspace before any login prompt).
    """

    name: str
    patterns: tuple[bytes, ...]
    deadline_s: float
    end_patterns: tuple[bytes, ...] = ()

    @property
    def regex(self) -> bytes:
        """One regex matching any of the stage's markers."""
        return b"|".join(b"(?:" + p + b")" for p in self.patterns)


_KERNEL = (
    tolerant("EFI stub: Booting Linux Kernel"),
    tolerant("Booting Linux on physical CPU"),
    tolerant("Linux version ") + rb"\d",
)
LOGIN_PROMPT = rb"\S+" + tolerant(" login:")
"""``<host> login:``, wherever it sits in its line (a kernel message may follow it)."""

KERNEL_HANDOVER: tuple[bytes, ...] = (
    tolerant("systemd[1]: "),
    tolerant("Welcome to ") + rb"\S",
    tolerant("[  OK  ] "),
)
"""The kernel handed over to userspace (systemd's first words): the kernel stage is over.
The login prompt also ends it (a quiet userspace may print none of these)."""

T234_STAGES: tuple[BootStage, ...] = (
    BootStage("mb1", (tolerant("I> MB1 ("),), 60.0),
    BootStage("mb2", (tolerant("I> MB2 ("),), 60.0),
    BootStage("uefi", (tolerant("UEFI firmware (version "),), 90.0),
    BootStage("kernel", _KERNEL, 120.0, KERNEL_HANDOVER),
    BootStage("login", (LOGIN_PROMPT,), 240.0),
)
"""AGX Orin / Orin Nano (R36 markers: ``I> MB1 (version: …``, ``Jetson UEFI firmware
(version …``, ``Linux version 5.15…``, ``tegra-ubuntu login:``)."""

T264_STAGES: tuple[BootStage, ...] = (
    BootStage("mb1", (rb"\b" + tolerant("MB1") + rb"\b",), 90.0),
    BootStage("mb2", (rb"\b" + tolerant("MB2") + rb"\b",), 90.0),
    BootStage("uefi", (tolerant("UEFI firmware (version "),), 120.0),
    BootStage("kernel", _KERNEL, 150.0, KERNEL_HANDOVER),
    BootStage("login", (LOGIN_PROMPT,), 300.0),
)
"""AGX Thor (its UEFI names itself ``t26x_general UEFI firmware (version v38.4.0 …``; the
markers before UEFI are unverified and kept loose)."""

STAGE_NAMES: tuple[str, ...] = tuple(stage.name for stage in T234_STAGES)
"""Stage names in boot order, the same for every chip."""

IMPLIED_STAGE: dict[str, str] = {
    "uefi_assert": "uefi",
    "uefi_exception": "uefi",
    "kernel_panic": "kernel",
    "kernel_oops": "kernel",
    "kernel_fault": "kernel",
    "soft_lockup": "kernel",
    "rcu_stall": "kernel",
    "emergency_mode": "login",
    "oem_wizard": "login",
}
"""The stage a bad pattern proves the board had reached: EDK2 prints ``ASSERT [`` and
``Synchronous Exception at``, the kernel prints panics, Oopses and lockups, systemd the
emergency mode, and the first-boot wizard runs in userspace. A bad pattern is blamed on this
stage when the board's last seen marker is an earlier one (the banner was lost)."""

Status = Literal["seen", "not_observed"]


@dataclass(frozen=True)
class StageMark:
    """The result of one boot stage.

    ``seen``: its marker arrived ``seconds`` after the reset (host time; ``at`` is the host's
    monotonic clock then) in ``line``, where the firmware or kernel timer of the line can be
    read. ``not_observed``: its marker never arrived but a later stage's did (lost in the
    combined UART); ``seconds`` and ``at`` are None and ``line`` is empty.
    """

    name: str
    seconds: float | None
    line: str
    status: Status = "seen"
    at: float | None = None
    before: str = ""
    """What the console printed between the previous mark (or the kernel's hand-over) and
    this line: the lines of the stage before, from which boot cycles read the firmware's and
    the kernel's own timers. Empty for a stage not observed."""

    @property
    def seen(self) -> bool:
        """Whether the stage's marker arrived."""
        return self.status == "seen"


@dataclass(frozen=True)
class BootTimeline:
    """Stages in order: seen ones with seconds since the reset, lost ones as not observed."""

    marks: tuple[StageMark, ...]
    oem_wizard: bool = False
    """True when the first-boot wizard stood in for the login prompt (no user staged)."""

    def __getitem__(self, stage: str) -> float:
        for mark in self.marks:
            if mark.name == stage and mark.seconds is not None:
                return mark.seconds
        raise KeyError(stage)

    def as_dict(self) -> dict[str, float | str]:
        """Stage name → seconds since the reset, or ``"not_observed"``."""
        return timeline_dict(self.marks)


def timeline_dict(marks: tuple[StageMark, ...]) -> dict[str, float | str]:
    """Stage name → seconds since the reset (rounded to ms), or ``"not_observed"``."""
    return {m.name: "not_observed" if m.seconds is None else round(m.seconds, 3) for m in marks}
