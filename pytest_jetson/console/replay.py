"""Boot validation of a recorded console capture (``python -m pytest_jetson bootlog``).

The capture goes through the same :class:`~.boot.BootSequencer` as a live boot, read as fast as
it can be: stages (seen or not observed), bad patterns blamed on their stage, and a verdict.
A capture that ends before the login prompt is a failure naming the last stage seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pytest_jetson.catalogue import ChipFamily
from pytest_jetson.console.boot import BootSequencer, BootStageFailed
from pytest_jetson.console.capture import CaptureConsole, read_capture
from pytest_jetson.console.errors import ConsoleLost
from pytest_jetson.console.stages import StageMark
from pytest_jetson.errors import ConfigError, excerpt

_SHOWN = 110


@dataclass(frozen=True)
class BootVerdict:
    """What the boot validation made of a capture."""

    capture: Path
    chip: str
    user_staged: bool
    marks: tuple[StageMark, ...]
    booted: bool
    summary: str
    """One line: how the boot ended, or why it failed (the stage and the pattern)."""
    line: str = ""
    """The console line that decided a failure (empty when none did)."""


def replay_capture(path: Path, chip: ChipFamily, *, user_staged: bool) -> BootVerdict:
    """Run the capture at ``path`` through the boot sequencer of ``chip``."""
    try:
        data = read_capture(path)
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the name
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a usable path"
        raise ConfigError(f"cannot read the capture {excerpt(str(path), 200)}: {why}") from None
    sequencer = BootSequencer(CaptureConsole(data, name=str(path)), chip, user_staged=user_staged)
    verdict = _verdict(path, chip, user_staged, sequencer)
    return verdict


def _verdict(
    path: Path, chip: ChipFamily, user_staged: bool, sequencer: BootSequencer
) -> BootVerdict:
    def done(booted: bool, summary: str, line: str = "") -> BootVerdict:
        marks = sequencer.marks
        return BootVerdict(path, chip.catalogue_id, user_staged, marks, booted, summary, line)

    try:
        login = sequencer.reach("login")
    except BootStageFailed as exc:
        summary = f"failed in stage {exc.stage!r} (waiting for {exc.awaited!r}): {exc.pattern_name}"
        return done(False, summary, exc.line)
    except ConsoleLost:
        last = sequencer.last_seen
        seen = f"last stage seen: {last.name}" if last is not None else "no stage seen"
        return done(False, f"the capture ends before the login prompt ({seen})")
    if "login:" in login.line or user_staged:
        return done(True, "booted to the login prompt")
    return done(True, "booted to the first-boot wizard (no user staged)")


def render(verdict: BootVerdict) -> str:
    """The timeline and the verdict, as ``bootlog`` prints them."""
    staged = "a user staged" if verdict.user_staged else "no user staged"
    rows = [f"capture: {verdict.capture} ({verdict.chip}, {staged})"]
    for mark in verdict.marks:
        status = "seen" if mark.seen else "not observed"
        rows.append(f"  {mark.name:<7} {status:<13} {_shown(mark.line)}".rstrip())
    if verdict.booted:
        rows.append(f"verdict: OK, {verdict.summary}")
    else:
        rows.append(f"verdict: FAILED, {verdict.summary}")
        if verdict.line:
            rows.append(f"  line: {_shown(verdict.line)}")
    return "\n".join(rows)


def _shown(line: str) -> str:
    text = "".join(ch if ch.isprintable() else " " for ch in line).strip()
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"
