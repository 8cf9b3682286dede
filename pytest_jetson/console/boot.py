"""Boot validation over the serial console: the one boot sequencer, login, shell commands.

:class:`BootSequencer` follows a boot stage by stage (:mod:`.stages`). Each stage has its own
deadline, counted from the last stage that was seen. The markers of every later stage are
watched too, because on Orin and Thor the debug port carries the Tegra Combined UART and a
stage's banner can be lost (:mod:`.tcu`): when a later stage's marker arrives first, the stages
in between are recorded as not observed, which never fails the boot. Only the final stage (the
login prompt, or the first-boot wizard when no user was staged) and bad patterns decide it. A
bad pattern fails the stage the board was in: the last stage seen, or the stage the pattern
itself proves (a UEFI ``ASSERT`` is UEFI's even when UEFI's banner was lost).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from pytest_jetson.catalogue import ChipFamily
from pytest_jetson.console.errors import BadPatternSeen, ConsoleTimeout, received_tail
from pytest_jetson.console.patterns import (
    OEM_WIZARD_MARKERS,
    OEM_WIZARD_PATTERNS,
    BadPattern,
    PatternLike,
)
from pytest_jetson.console.stages import (
    IMPLIED_STAGE,
    KERNEL_HANDOVER,
    STAGE_NAMES,
    T234_STAGES,
    T264_STAGES,
    BootStage,
    BootTimeline,
    StageMark,
    timeline_dict,
)
from pytest_jetson.console.tcu import tolerant, tolerant_bad
from pytest_jetson.errors import DutError, UsageError, clip

if TYPE_CHECKING:
    from pytest_jetson.console.core import ConsoleMatch, SerialConsole


class BootConsole(Protocol):
    """What the sequencer needs of a console: a live :class:`SerialConsole`, or a recorded
    capture read as fast as it can be (:class:`~.capture.CaptureConsole`)."""

    @property
    def bad_patterns(self) -> tuple[BadPattern, ...]: ...

    def expect(
        self,
        pattern: PatternLike | Sequence[PatternLike],
        timeout: float = 30.0,
        *,
        stage: str | None = None,
    ) -> ConsoleMatch: ...

    def extra_bad_patterns(
        self, patterns: Iterable[BadPattern]
    ) -> contextlib.AbstractContextManager[None]: ...


class BootStageTimeout(DutError):
    """A boot stage was not reached (or, ``ended=False``, did not end) within its deadline."""

    def __init__(
        self, stage: str, cause: ConsoleTimeout, *, last: str | None = None, ended: bool = False
    ) -> None:
        self.stage = stage
        self.last_seen = last
        self.log_path = cause.log_path
        what = "did not end (no hand-over to userspace)" if ended else "not reached"
        after = f" (last stage seen: {last})" if last and not ended else ""
        message = (
            f"boot stage {stage!r} {what}{after}: console {cause.port}: timed out after "
            f"{cause.timeout:.1f} s{received_tail(cause.last_lines, cause.log_path)}"
        )
        super().__init__(message, output=cause.output)


class BootStageFailed(DutError):
    """A bad pattern (panic, UEFI assert, the wizard…) showed up during a boot stage.

    ``stage`` is the stage the board was in: the last one seen (``mb1`` before any), or the
    later one the pattern proves; ``awaited`` the stage being waited for.
    """

    def __init__(self, stage: str, awaited: str, cause: BadPatternSeen) -> None:
        self.stage = stage
        self.awaited = awaited
        self.pattern_name = cause.name
        self.line = cause.line
        self.log_path = cause.log_path
        super().__init__(
            f"boot failed in stage {stage!r} (waiting for {awaited!r}): console {cause.port}: "
            f"{cause.name} seen: {clip(cause.line)!r}"
            f"{received_tail(cause.last_lines, cause.log_path)}",
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
            patterns = patterns + tuple(tolerant(m) for m in OEM_WIZARD_MARKERS)
        stages.append(
            BootStage(
                stage.name,
                patterns,
                deadlines.get(stage.name, stage.deadline_s),
                stage.end_patterns,
            )
        )
    return tuple(stages)


_HANDOVER = b"|".join(b"(?:" + p + b")" for p in KERNEL_HANDOVER)


class BootSequencer:
    """Follows one boot on ``console``, stage by stage; the flow's step items and
    :func:`validate_boot` both drive it.

    ``start`` is the monotonic time of the reset (default: now); ``total`` caps every wait at
    that many seconds after it (the whole-boot deadline). :meth:`reach` waits until a stage is
    decided, :meth:`settle` until it is also over (the kernel: until it hands over to
    userspace, so a kernel panic fails the kernel stage). A failure is raised once and again
    to whoever asks for a later stage.
    """

    def __init__(
        self,
        console: BootConsole,
        chip: ChipFamily,
        *,
        user_staged: bool,
        deadlines: Mapping[str, float] | None = None,
        start: float | None = None,
        total: float | None = None,
    ) -> None:
        self.console = console
        self.stages = boot_stages(chip, user_staged=user_staged, deadlines=deadlines)
        self.user_staged = user_staged
        self.start = time.monotonic() if start is None else start
        self.total = total
        self._marks: list[StageMark] = []
        self._since = self.start
        self._handed_over = False
        self._handover: StageMark | None = None
        self._failure: DutError | None = None
        self._extra_bad = tolerant_bad(console.bad_patterns) + (
            OEM_WIZARD_PATTERNS + tolerant_bad(OEM_WIZARD_PATTERNS) if user_staged else ()
        )

    @property
    def marks(self) -> tuple[StageMark, ...]:
        """The stages decided so far, in boot order."""
        return tuple(self._marks)

    @property
    def timeline(self) -> dict[str, float | str]:
        """Stage name → seconds since the reset, or ``"not_observed"``."""
        return timeline_dict(self.marks)

    @property
    def handover(self) -> StageMark | None:
        """Where the kernel handed over to userspace (systemd's first words), named
        ``handover``; None before, or when the login prompt itself ended the kernel stage."""
        return self._handover

    @property
    def last_seen(self) -> StageMark | None:
        """The last stage whose marker arrived."""
        return next((m for m in reversed(self._marks) if m.seen), None)

    def reach(self, name: str) -> StageMark:
        """Wait until stage ``name`` is decided: seen, or not observed (a later one was seen)."""
        index = self._index(name)
        while len(self._marks) <= index:
            self._wait()
        return self._marks[index]

    def settle(self, name: str) -> StageMark:
        """Wait until stage ``name`` is decided and over (the kernel: handed over)."""
        mark = self.reach(name)
        index = self._index(name)
        while self.stages[index].end_patterns and self._in(index):
            self._wait()
        return mark

    def __iter__(self) -> Iterator[StageMark]:
        for stage in self.stages:
            yield self.reach(stage.name)

    def _index(self, name: str) -> int:
        for index, stage in enumerate(self.stages):
            if stage.name == name:
                return index
        raise UsageError(f"no boot stage {name!r}; stages are {', '.join(STAGE_NAMES)}")

    def _in(self, index: int) -> bool:
        """Whether the board is still in stage ``index`` (reached, nothing later yet)."""
        return len(self._marks) == index + 1 and not self._handed_over

    def _position(self) -> int:
        """The stage the board is in: the last decided one (past the kernel's hand-over, the
        login stage); the first stage before any."""
        if not self._marks:
            return 0
        last = len(self._marks) - 1
        if self._handed_over and self.stages[last].end_patterns:
            return min(last + 1, len(self.stages) - 1)
        return last

    def _wait(self) -> None:
        """One wait for whatever comes next: a later stage, the kernel's hand-over, a failure."""
        if self._failure is not None:
            raise self._failure
        n = len(self._marks)
        if n >= len(self.stages):
            return
        ahead = self.stages[n:]
        patterns = [stage.regex for stage in ahead]
        watch_end = bool(n and self.stages[n - 1].end_patterns and not self._handed_over)
        if watch_end:
            patterns.append(_HANDOVER)
        awaited = ahead[0]
        now = time.monotonic()
        left = self._since + awaited.deadline_s - now
        if self.total is not None:
            left = min(left, self.start + self.total - now)
        try:
            with self.console.extra_bad_patterns(self._extra_bad):
                found = self.console.expect(patterns, timeout=max(left, 0.0), stage=awaited.name)
        except ConsoleTimeout as exc:
            if watch_end:
                self._failure = BootStageTimeout(self.stages[n - 1].name, exc, ended=True)
            else:
                last = self.last_seen
                self._failure = BootStageTimeout(
                    awaited.name, exc, last=last.name if last is not None else None
                )
            raise self._failure from exc
        except BadPatternSeen as exc:
            self._failure = self._blame(exc, awaited.name)
            raise self._failure from exc
        if found.index == len(ahead):
            self._handed_over = True
            self._handover = self._mark("handover", found)
            return
        self._reached(n + found.index, found)

    def _reached(self, index: int, found: ConsoleMatch) -> None:
        for skipped in self.stages[len(self._marks) : index]:
            self._marks.append(StageMark(skipped.name, None, "", "not_observed"))
        self._marks.append(self._mark(self.stages[index].name, found))
        self._since = found.time
        if index > 0 and self.stages[index - 1].end_patterns:
            self._handed_over = True  # a stage after the kernel ends the kernel
        elif self.stages[index].end_patterns:
            self._handed_over = False

    def _mark(self, name: str, found: ConsoleMatch) -> StageMark:
        before = found.before
        text = before.decode("utf-8", "replace") if isinstance(before, bytes) else str(before)
        return StageMark(name, found.time - self.start, found.line, at=found.time, before=text)

    def _blame(self, exc: BadPatternSeen, awaited: str) -> BootStageFailed:
        """The failure, in the stage the board was in or the later one the pattern proves;
        stages skipped to get there are not observed."""
        index = self._position()
        implied = IMPLIED_STAGE.get(exc.name)
        if implied is not None:
            index = max(index, self._index(implied))
        for skipped in self.stages[len(self._marks) : index]:
            self._marks.append(StageMark(skipped.name, None, "", "not_observed"))
        return BootStageFailed(self.stages[index].name, awaited, exc)


def iter_boot(
    console: BootConsole,
    chip: ChipFamily,
    *,
    user_staged: bool,
    deadlines: Mapping[str, float] | None = None,
    start: float | None = None,
) -> Iterator[StageMark]:
    """Yield each stage as it is decided (seen or not observed)."""
    yield from BootSequencer(
        console, chip, user_staged=user_staged, deadlines=deadlines, start=start
    )


def validate_boot(
    console: BootConsole,
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
_LOGIN_AGAIN = rb"login: ?(?:$|(?=\[ *\d+\.\d+\] ))"
"""A fresh login prompt: at the end of what arrived, or followed on its line by a kernel
message (``eis860 login: [   27.620287] …``, as the combined UART shows it)."""


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
        [_LOGIN_AGAIN, _PROMPT], timeout=prompt_timeout, stage="login or shell prompt"
    )
    if first.index == 1:
        return
    console.sendline(username)
    console.expect(rb"[Pp]assword: ?$", timeout=prompt_timeout, stage="password prompt")
    console.sendline(password, secret=secret)
    found = console.expect(
        [_PROMPT, rb"Login incorrect", _LOGIN_AGAIN], timeout=prompt_timeout, stage="shell prompt"
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


__all__ = [
    "KERNEL_HANDOVER",
    "STAGE_NAMES",
    "T234_STAGES",
    "T264_STAGES",
    "BootConsole",
    "BootSequencer",
    "BootStage",
    "BootStageFailed",
    "BootStageTimeout",
    "BootTimeline",
    "CommandFailed",
    "LoginFailed",
    "StageMark",
    "boot_stages",
    "iter_boot",
    "login",
    "run",
    "validate_boot",
]
