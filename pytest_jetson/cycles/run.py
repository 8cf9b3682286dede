"""One boot cycle: reboot the DUT, follow the boot with the one boot sequencer (every stage
within its deadline, the bad patterns watched), and time each stage on the host clock and on
the firmware's own timers.

The board is rebooted with ``boardctl reset`` when the bench has boardctl, else with
``sudo reboot`` typed on the logged-in console. With boardctl the host clock counts from the
reset request (the board may start before boardctl returns); with ``sudo reboot`` the shutdown
takes an unknown time, so the stages' start times count from the first MB1 line.

A stage lasts from the line that showed it to the line that showed the next one; the kernel
stage ends when the kernel hands over to userspace, and the ``login`` stage is userspace up to
the login prompt. A stage whose banner the combined UART lost has no time (not observed). A
boot that fails (a bad pattern, a stage past its deadline) is a *product* failure of that
cycle; the bench failing (boardctl, a lost console, a console that printed not one byte since
the reset: the boot ROM and MB1 print within seconds of it) is an *infra* failure.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pytest_jetson.console.boot import BootSequencer, BootStageTimeout
from pytest_jetson.console.errors import ConsoleSilent
from pytest_jetson.console.stages import STAGE_NAMES, StageMark
from pytest_jetson.cycles.record import CycleRecord, StageTime
from pytest_jetson.cycles.stats import summary_json
from pytest_jetson.cycles.timers import firmware_span
from pytest_jetson.errors import BenchError, DutError
from pytest_jetson.flash.procedure import FlashFlow, cycle_reboot

if TYPE_CHECKING:
    from pytest_jetson.drivers.boardctl import Boardctl

_UEFI_VERSION = re.compile(r"firmware \(version ([^ )]+)")
LOG_LINES = 400
"""At most this many console lines are kept for a failed cycle."""


class CycleFailed(DutError):
    """A boot cycle failed (the image: a product failure); ``record`` says where and how."""

    def __init__(self, record: CycleRecord, *, output: str = "") -> None:
        self.record = record
        super().__init__(record.message, output=output)


class CycleInfraFailed(BenchError):
    """The bench failed during a boot cycle (not the image); ``record`` says where."""

    def __init__(self, record: CycleRecord) -> None:
        self.record = record
        super().__init__(record.message)


@dataclass
class BootCycles:
    """The boot cycles of one DUT; each :meth:`run` adds a record and updates the summary."""

    flow: FlashFlow
    count: int
    records: list[CycleRecord] = field(default_factory=list)
    _boardctl: Boardctl | Literal[False] | None = None

    def boardctl(self) -> Boardctl | None:
        """The DUT's boardctl (one instance: its target list is read once), or None."""
        if self._boardctl is None:
            self._boardctl = self.flow.dut.boardctl() or False
        return self._boardctl or None

    @property
    def reboot(self) -> str:
        """How each cycle reboots the board, as the plan shows it."""
        return cycle_reboot(self.flow.dut, self.boardctl())

    def run(self, index: int, emit: Callable[[str], None] | None = None) -> CycleRecord:
        """Run cycle ``index`` (1-based). Raises :class:`CycleFailed` (product) or
        :class:`CycleInfraFailed` (bench) after recording it."""
        boot: BootSequencer | None = None
        edge_known = True
        try:
            self._require_usable()
            boot, edge_known, received = self._reboot()
            self._follow(boot, received)
        except DutError as exc:
            stage = _failed_stage(exc, boot)
            record = self._record(index, boot, edge_known, "product", stage, str(exc), exc.output)
            self._save(record)
            raise CycleFailed(record, output=exc.output) from None
        except BenchError as exc:
            stage = _failed_stage(exc, boot) if boot is not None else ""
            record = self._record(index, boot, edge_known, "infra", stage, str(exc), exc.output)
            self._save(record)
            raise CycleInfraFailed(record) from None
        record = self._record(index, boot, edge_known, "", "", "", "")
        self._save(record)
        if emit is not None:
            times = " ".join(f"{s.name} {_shown(s)}" for s in record.stages)
            emit(f"boot cycle {index}/{self.count} [{self.flow.dut.name}]: {times}")
        return record

    def _require_usable(self) -> None:
        """A DUT latched broken by a bench failure is not rebooted again (infra)."""
        dut = self.flow.dut
        if dut.broken is not None:
            raise BenchError(f"DUT {dut.name} is broken: {dut.broken}") from dut.broken_by

    def _follow(self, boot: BootSequencer, received: int) -> None:
        """Every stage of the boot; a stage timeout with not one console byte since the reset
        (``received`` bytes had arrived before it) is the bench's (:class:`ConsoleSilent`),
        not the image's."""
        console = self.flow.dut.console()
        try:
            for name in STAGE_NAMES:
                boot.settle(name)
        except BootStageTimeout as exc:
            if console.bytes_received != received:
                raise
            raise ConsoleSilent(
                console.port,
                time.monotonic() - boot.start,
                awaited=f"boot stage {exc.stage!r}",
                log_path=console.log_path,
            ) from exc

    def _reboot(self) -> tuple[BootSequencer, bool, int]:
        """Reboot the board; the sequencer of the new boot, whether its clock starts at the
        reset edge (boardctl) or only at the first MB1 line (``sudo reboot``), and how many
        console bytes had arrived before the reboot."""
        flow = self.flow
        dut = flow.dut
        console = dut.console()
        boardctl = self.boardctl()
        if boardctl is None:
            shell = flow.shell()
            console.discard()
            received, start = console.bytes_received, time.monotonic()
            shell.console.sendline("sudo reboot")
        else:
            boardctl.check_target()  # reads `boardctl -h` once, before the clock starts
            console.discard()
            received, start = console.bytes_received, time.monotonic()
            boardctl.reset()
        flow.drop_shell()  # the same image boots again: a reboot is no state transition
        boot = BootSequencer(
            console,
            dut.entry.profile.chip,
            user_staged=flow.user_staged(),
            start=start,
            total=dut.deadlines.boot,
        )
        return boot, boardctl is not None, received

    def _record(
        self,
        index: int,
        boot: BootSequencer | None,
        edge_known: bool,
        failure: Literal["", "product", "infra"],
        stage: str,
        message: str,
        output: str,
    ) -> CycleRecord:
        marks = boot.marks if boot is not None else ()
        handover = boot.handover if boot is not None else None
        uefi = next((m.line for m in marks if m.name == "uefi" and m.seen), "")
        version = _UEFI_VERSION.search(uefi)
        log = ""
        if failure:
            log = _log(marks, handover, f"boot failed in stage {stage or '?'}: {message}", output)
        redact = self.flow.dut.redactor
        return CycleRecord(
            index=index,
            outcome="failed" if failure else "passed",
            failure_class=failure,
            failed_stage=stage,
            message=redact(message),
            reboot=self.reboot,
            stages=stage_times(marks, handover, edge_known=edge_known),
            firmware_version=version.group(1) if version else "",
            log=redact(log),
        )

    def _save(self, record: CycleRecord) -> None:
        self.records = [r for r in self.records if r.index != record.index] + [record]
        self.records.sort(key=lambda r: r.index)
        self.flow.record_cycles(summary_json(self.records, self.reboot))


def stage_times(
    marks: Sequence[StageMark], handover: StageMark | None, *, edge_known: bool = True
) -> tuple[StageTime, ...]:
    """The timing of every stage of one boot from the sequencer's marks.

    Stages ``mb1`` … ``uefi`` span from their mark to the next stage's; the kernel to its
    hand-over to userspace (or to the login prompt when that came first); ``login`` from the
    hand-over to the prompt. A span needs both ends seen. Without a known reset edge the start
    times count from the first MB1 line.
    """
    by_name = {m.name: m for m in marks if m.seen}
    origin = 0.0
    if not edge_known and "mb1" in by_name:
        origin = by_name["mb1"].seconds or 0.0
    seen = [by_name.get(name) for name in STAGE_NAMES]
    ends: list[StageMark | None] = [*seen[1:4], handover or seen[4], seen[4]]
    starts: list[StageMark | None] = [*seen[:4], handover]
    return tuple(
        _span(name, start, end, origin)
        for name, start, end in zip(STAGE_NAMES, starts, ends, strict=True)
    )


def _span(name: str, start: StageMark | None, end: StageMark | None, origin: float) -> StageTime:
    if start is None or start.seconds is None:
        return StageTime(name)
    start_s = round(start.seconds - origin, 6)
    if end is None or end.seconds is None or end is start:
        return StageTime(name, start_s=start_s)
    lines = [start.line, *end.before.splitlines()]
    return StageTime(
        name,
        start_s=start_s,
        host_s=round(end.seconds - start.seconds, 6),
        firmware_s=firmware_span(name, lines, end.line),
    )


def _failed_stage(exc: BaseException, boot: BootSequencer | None) -> str:
    """The stage the board was in: the one the error names, else the last one seen."""
    stage = getattr(exc, "stage", None)
    if isinstance(stage, str) and stage in STAGE_NAMES:
        return stage
    last = boot.last_seen if boot is not None else None
    return last.name if last is not None else STAGE_NAMES[0]


def _log(marks: Sequence[StageMark], handover: StageMark | None, failure: str, output: str) -> str:
    """The cycle's console lines with a mark line where each stage was reached."""
    points = sorted(
        [m for m in (*marks, handover) if m is not None and m.seen],
        key=lambda m: m.seconds or 0.0,
    )
    lines: list[str] = []
    for n, mark in enumerate(points):
        # ``before`` starts with the rest of the previous mark's line and ends with the start
        # of this mark's line: both are shown whole as the mark lines.
        between = mark.before.split("\n")[(1 if n else 0) : -1]
        lines += [ln.rstrip("\r") for ln in between]
        lines.append(f"==== {mark.name} reached at {mark.seconds or 0.0:.3f}s ====")
        lines.append(mark.line)
    lines.append(f"==== {failure.splitlines()[0] if failure else ''} ====")
    lines += [ln.rstrip("\r") for ln in output.splitlines()]
    return "\n".join(lines[-LOG_LINES:])


def _shown(stage: StageTime) -> str:
    if stage.firmware_s is not None:
        return f"{stage.firmware_s:.3f}s(fw)"
    return "-" if stage.host_s is None else f"{stage.host_s:.3f}s"


__all__ = ["BootCycles", "CycleFailed", "CycleInfraFailed", "stage_times"]
