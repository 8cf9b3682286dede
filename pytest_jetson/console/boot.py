"""Boot validation over the serial console: stages per chip, login, simple shell commands.

Stage markers are lines NVIDIA's boot logs print (MB1, MB2, UEFI, the kernel, systemd, the
login prompt). T234 markers are seen in R36 logs; most T264 ones are
unverified, so their patterns are deliberately loose (any line naming MB1, MB2, UEFI firmware).
Each stage has its own deadline, counted from the moment the previous stage was reached.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from pytest_jetson.catalogue import ChipFamily
from pytest_jetson.console import (
    OEM_WIZARD_MARKERS,
    OEM_WIZARD_PATTERNS,
    BadPatternSeen,
    ConsoleTimeout,
    SerialConsole,
)
from pytest_jetson.errors import DutError, UsageError


@dataclass(frozen=True)
class BootStage:
    """One boot stage: any of ``patterns`` (bytes regexes) marks it reached."""

    name: str
    patterns: tuple[bytes, ...]
    deadline_s: float


_KERNEL = (
    rb"EFI stub: Booting Linux Kernel",
    rb"Booting Linux on physical CPU",
    rb"Linux version \d",
)
_LOGIN = (rb"\S+ login: ?",)
KERNEL_HANDOVER: tuple[bytes, ...] = (
    rb"systemd\[1\]: ",
    rb"Welcome to \S",
    rb"\[  OK  \] ",
)
"""The kernel handed over to userspace (systemd's first ``[  OK  ]`` lines): the kernel stage is
over. The login prompt also ends it (a quiet userspace may print none of these)."""

T234_STAGES: tuple[BootStage, ...] = (
    BootStage("mb1", (rb"I> MB1 \(version: ",), 60.0),
    BootStage("mb2", (rb"I> MB2 \(version: ",), 60.0),
    BootStage("uefi", (rb"Jetson UEFI firmware \(version ",), 90.0),
    BootStage("kernel", _KERNEL, 120.0),
    BootStage("login", _LOGIN, 240.0),
)
"""AGX Orin / Orin Nano (markers seen in R36 logs)."""

T264_STAGES: tuple[BootStage, ...] = (
    BootStage("mb1", (rb"\bMB1\b",), 90.0),
    BootStage("mb2", (rb"\bMB2\b",), 90.0),
    BootStage("uefi", (rb"UEFI firmware \(version ",), 120.0),
    BootStage("kernel", _KERNEL, 150.0),
    BootStage("login", _LOGIN, 300.0),
)
"""AGX Thor (markers unverified past the kernel: kept tolerant)."""

STAGE_NAMES: tuple[str, ...] = tuple(stage.name for stage in T234_STAGES)
"""Stage names in boot order, the same for every chip."""


@dataclass(frozen=True)
class StageMark:
    """A stage reached: seconds since the reset and the line that showed it."""

    name: str
    seconds: float
    line: str


@dataclass(frozen=True)
class BootTimeline:
    """Stages reached in order, in seconds since the reset."""

    marks: tuple[StageMark, ...]
    oem_wizard: bool = False
    """True when the first-boot wizard stood in for the login prompt (no user staged)."""

    def __getitem__(self, stage: str) -> float:
        for mark in self.marks:
            if mark.name == stage:
                return mark.seconds
        raise KeyError(stage)

    def as_dict(self) -> dict[str, float]:
        """Stage name → seconds since the reset."""
        return {mark.name: round(mark.seconds, 3) for mark in self.marks}


class BootStageTimeout(DutError):
    """A boot stage was not reached within its deadline."""

    def __init__(self, stage: str, cause: ConsoleTimeout) -> None:
        self.stage = stage
        self.log_path = cause.log_path
        super().__init__(f"boot stage {stage!r} not reached: {cause.message}", output=cause.output)


class BootStageFailed(DutError):
    """A bad pattern (panic, UEFI assert, the wizard…) showed up during a boot stage.

    ``stage`` is the stage the board was in (the last one reached; ``mb1`` before any).
    """

    def __init__(self, stage: str, awaited: str, cause: BadPatternSeen) -> None:
        self.stage = stage
        self.awaited = awaited
        self.pattern_name = cause.name
        self.log_path = cause.log_path
        super().__init__(
            f"boot failed in stage {stage!r} (waiting for {awaited!r}): {cause.message}",
            output=cause.output,
        )


class LoginFailed(DutError):
    """The console login was refused."""


class CommandFailed(DutError):
    """A shell command on the DUT exited non-zero."""

    def __init__(self, command: str, status: int, output: str) -> None:
        self.command = command
        self.status = status
        super().__init__(f"{command!r} exited {status} on the DUT:\n{output}", output=output)


def boot_stages(
    chip: ChipFamily, *, user_staged: bool = True, deadlines: Mapping[str, float] | None = None
) -> tuple[BootStage, ...]:
    """The stages of ``chip`` with ``deadlines`` (stage → seconds) overriding the defaults.

    With no user staged, the first-boot wizard counts as reaching the login stage.
    """
    table = {"t234": T234_STAGES, "t264": T264_STAGES}.get(chip.catalogue_id)
    if table is None:
        raise UsageError(f"no boot stages known for chip {chip.catalogue_id!r}")
    deadlines = dict(deadlines or {})
    unknown = sorted(set(deadlines) - set(STAGE_NAMES))
    if unknown:
        raise UsageError(f"unknown boot stage(s) {unknown}; stages are {', '.join(STAGE_NAMES)}")
    stages = []
    for stage in table:
        patterns = stage.patterns
        if stage.name == "login" and not user_staged:
            patterns = patterns + tuple(re.escape(m) for m in OEM_WIZARD_MARKERS)
        stages.append(BootStage(stage.name, patterns, deadlines.get(stage.name, stage.deadline_s)))
    return tuple(stages)


def expect_stage(
    console: SerialConsole,
    stage: BootStage,
    *,
    start: float,
    since: float,
    user_staged: bool,
    current: str | None = None,
) -> StageMark:
    """Wait for ``stage`` within its deadline counted from monotonic time ``since``.

    Bad patterns (and the OEM wizard when a user was staged) fail at once with
    :class:`BootStageFailed` naming ``current``, the stage the board is in (default: this
    one). ``start`` is the monotonic time of the reset, for the mark's seconds.
    """
    remaining = max(since + stage.deadline_s - time.monotonic(), 0.0)
    extra = OEM_WIZARD_PATTERNS if user_staged else ()
    with console.extra_bad_patterns(extra):
        try:
            found = console.expect(list(stage.patterns), timeout=remaining, stage=stage.name)
        except ConsoleTimeout as exc:
            raise BootStageTimeout(stage.name, exc) from exc
        except BadPatternSeen as exc:
            raise BootStageFailed(current or stage.name, stage.name, exc) from exc
    return StageMark(stage.name, found.time - start, found.line)


def iter_boot(
    console: SerialConsole,
    chip: ChipFamily,
    *,
    user_staged: bool,
    deadlines: Mapping[str, float] | None = None,
    start: float | None = None,
) -> Iterator[StageMark]:
    """Yield each stage as it is reached (one test item per stage can drive this)."""
    start = time.monotonic() if start is None else start
    since, current = start, None
    for stage in boot_stages(chip, user_staged=user_staged, deadlines=deadlines):
        mark = expect_stage(
            console, stage, start=start, since=since, user_staged=user_staged, current=current
        )
        since, current = start + mark.seconds, mark.name
        yield mark


def validate_boot(
    console: SerialConsole,
    chip: ChipFamily,
    *,
    user_staged: bool,
    deadlines: Mapping[str, float] | None = None,
    start: float | None = None,
) -> BootTimeline:
    """Expect every boot stage of ``chip`` in order; the timeline of when each was reached.

    ``start`` is the monotonic time of the reset (default: now). Raises
    :class:`BootStageTimeout` (naming the stage not reached), :class:`BootStageFailed` (naming
    the stage the board was in when a bad pattern showed) or
    :class:`~pytest_jetson.console.ConsoleLost`.
    """
    marks = tuple(
        iter_boot(console, chip, user_staged=user_staged, deadlines=deadlines, start=start)
    )
    wizard = not user_staged and "login:" not in marks[-1].line
    return BootTimeline(marks, oem_wizard=wizard)


_PROMPT = rb"[$#] ?$"


def login(
    console: SerialConsole,
    username: str,
    password: str,
    prompt_timeout: float = 30.0,
    *,
    secret: bool = True,
) -> None:
    """Log in on the console; with ``secret`` the password is masked and never logged.

    An empty line first makes getty print a fresh prompt, so a prompt already consumed by
    boot validation is not needed. A console that is already at a shell prompt (autologin,
    as ``l4t_create_default_user.sh --autologin`` sets up) counts as logged in.
    """
    console.sendline("")
    first = console.expect(
        [rb"login: ?$", _PROMPT], timeout=prompt_timeout, stage="login or shell prompt"
    )
    if first.index == 1:
        return
    console.sendline(username)
    console.expect(rb"[Pp]assword: ?$", timeout=prompt_timeout, stage="password prompt")
    console.sendline(password, secret=secret)
    found = console.expect(
        [_PROMPT, rb"Login incorrect", rb"login: ?$"], timeout=prompt_timeout, stage="shell prompt"
    )
    if found.index != 0:
        raise LoginFailed(
            f"console {console.port}: login as {username!r} refused "
            f"({found.text.strip()!r}); full log: {console.log_path}",
            output="\n".join(console.last_lines(10)),
        )


def run(console: SerialConsole, command: str, timeout: float = 30.0, *, check: bool = True) -> str:
    """Run a simple shell ``command`` on a logged-in console; its output (CRLF → LF).

    Output is delimited by unique marker lines; the typed (echoed) markers are quoted
    differently, so the echo never matches. Raises :class:`CommandFailed` on a non-zero exit
    when ``check``.
    """
    token = uuid.uuid4().hex[:12]
    begin, end = f"PJB{token}", f"PJE{token}"
    console.sendline(f"echo {begin[:3]}''{begin[3:]}; {command}; echo {end[:3]}''{end[3:]} $?")
    console.expect(begin.encode() + rb"\r?\n", timeout=timeout, stage=f"run {command!r}")
    found = console.expect(
        end.encode() + rb" (\d+)\r?\n", timeout=timeout, stage=f"run {command!r}"
    )
    before: bytes = found.before
    output = before.decode("utf-8", "replace").replace("\r\n", "\n")
    status = int(found.group(1))
    if check and status != 0:
        raise CommandFailed(command, status, output)
    return output
