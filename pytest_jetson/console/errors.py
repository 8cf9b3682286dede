"""Console failures, each saying what was awaited, the last lines received and the log path."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pytest_jetson.errors import BenchError, DeadlineExceeded, DutError, clip


def _awaited(patterns: Sequence[str], stage: str | None) -> str:
    what = " | ".join(patterns)
    return f"stage {stage!r} ({what})" if stage else what


def _tail(last_lines: Sequence[str], log_path: Path | None) -> str:
    shown = "\n".join(f"    {clip(line)}" for line in last_lines) or "    (nothing received)"
    where = str(log_path) if log_path is not None else "(no log file)"
    return f"\nlast {len(last_lines)} lines received:\n{shown}\nfull log: {where}"


def received_tail(last_lines: Sequence[str], log_path: Path | None) -> str:
    """The last lines received and the full log's path, as every console failure ends."""
    return _tail(last_lines, log_path)


class ConsoleTimeout(DeadlineExceeded):
    """``expect`` ran out of time."""

    def __init__(
        self,
        port: str,
        patterns: Sequence[str],
        timeout: float,
        *,
        stage: str | None,
        last_lines: Sequence[str],
        log_path: Path | None,
    ) -> None:
        self.port = port
        self.patterns = tuple(patterns)
        self.timeout = timeout
        self.stage = stage
        self.last_lines = tuple(last_lines)
        self.log_path = log_path
        super().__init__(
            f"console {port}: timed out after {timeout:.1f} s waiting for "
            f"{_awaited(patterns, stage)}{_tail(last_lines, log_path)}",
            output="\n".join(clip(line) for line in last_lines),
        )


class ConsoleLost(BenchError):
    """The port vanished and did not come back within the reconnect deadline."""

    def __init__(
        self,
        port: str,
        reason: str,
        *,
        stage: str | None = None,
        last_lines: Sequence[str] = (),
        log_path: Path | None = None,
    ) -> None:
        self.port = port
        self.reason = reason
        self.stage = stage
        self.last_lines = tuple(last_lines)
        self.log_path = log_path
        during = f" during stage {stage!r}" if stage else ""
        super().__init__(
            f"console {port} lost{during}: {reason}{_tail(last_lines, log_path)}",
            output="\n".join(clip(line) for line in last_lines),
        )


class BadPatternSeen(DutError):
    """A bad pattern (kernel panic, UEFI assert, the OEM wizard…) showed up while waiting."""

    def __init__(
        self,
        port: str,
        name: str,
        line: str,
        awaited: Sequence[str],
        *,
        stage: str | None,
        last_lines: Sequence[str],
        log_path: Path | None,
    ) -> None:
        self.port = port
        self.name = name
        self.line = line
        self.stage = stage
        self.awaited = tuple(awaited)
        self.last_lines = tuple(last_lines)
        self.log_path = log_path
        super().__init__(
            f"console {port}: {name} seen while waiting for {_awaited(awaited, stage)}: "
            f"{clip(line)!r}{_tail(last_lines, log_path)}",
            output="\n".join(clip(line) for line in last_lines),
        )


class ConsoleSilent(BenchError):
    """Not one byte arrived on the console after the board was reset: a bench symptom (a dead
    console link, or a board that does not run at all), never an image that started to boot
    and stopped. A Jetson's boot ROM and MB1 print within seconds of leaving reset."""

    def __init__(self, port: str, seconds: float, *, awaited: str, log_path: Path | None) -> None:
        self.port = port
        self.seconds = seconds
        self.log_path = log_path
        where = str(log_path) if log_path is not None else "(no log file)"
        super().__init__(
            f"console silent: not one byte in {seconds:.1f} s since the reset (waiting for "
            f"{awaited})\nthe console link ({port}) or the board is dead, not the image; "
            f"full log: {where}"
        )
