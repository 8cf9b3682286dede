"""A recorded console capture read as a console: the boot sequencer runs on it at full speed.

A capture is the raw bytes of a serial port (as a terminal program saves them, or as pasted in a
bug report), or a console log of ``--jetson-artifacts`` (its timestamps and notes are removed
first, which gives back the received bytes exactly). :class:`CaptureConsole` answers ``expect``
the way :class:`~pytest_jetson.console.SerialConsole` does, with the same matchers and bad
patterns, but searches the whole rest of the capture at once; past its end, the console is lost.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from pytest_jetson.console.core import ConsoleMatch
from pytest_jetson.console.errors import BadPatternSeen, ConsoleLost
from pytest_jetson.console.log import strip_log_stamps
from pytest_jetson.console.patterns import (
    DEFAULT_BAD_PATTERNS,
    BadPattern,
    BadScanner,
    PatternLike,
    matcher_for,
)
from pytest_jetson.errors import UsageError

_STAMPED = re.compile(rb"\A *\d+\.\d{3} [|#~] ")
_MAX_SPAN = 2048


def read_capture(path: Path) -> bytes:
    """The received bytes of the capture at ``path`` (console-log stamps removed)."""
    data = path.read_bytes()
    return strip_log_stamps(data) if _STAMPED.match(data) else data


class CaptureConsole:
    """``expect`` over recorded bytes; ``name`` names the capture in messages."""

    def __init__(
        self,
        data: bytes,
        *,
        name: str,
        log_path: Path | None = None,
        bad_patterns: Iterable[BadPattern] = DEFAULT_BAD_PATTERNS,
    ) -> None:
        self._data = data
        self._buf = bytearray(data)
        self._pos = 0
        self._bad = list(bad_patterns)
        self.port = name
        self.log_path = log_path

    @property
    def bad_patterns(self) -> tuple[BadPattern, ...]:
        """The bad patterns watched."""
        return tuple(self._bad)

    @property
    def consumed(self) -> int:
        """How many bytes of the capture the matches so far have used."""
        return self._pos

    @contextlib.contextmanager
    def extra_bad_patterns(self, patterns: Iterable[BadPattern]) -> Iterator[None]:
        """Watch ``patterns`` too inside a ``with`` block."""
        added = list(patterns)
        self._bad.extend(added)
        try:
            yield
        finally:
            for pattern in added:
                self._bad.remove(pattern)

    def expect(
        self,
        pattern: PatternLike | Sequence[PatternLike],
        timeout: float = 30.0,
        *,
        stage: str | None = None,
    ) -> ConsoleMatch:
        """The first of ``pattern`` in the rest of the capture; a bad pattern before it raises
        :class:`BadPatternSeen`, and a capture that ends first :class:`ConsoleLost`.

        ``timeout`` is ignored: a capture is read as fast as it can be.
        """
        given: Sequence[PatternLike] = (
            [pattern] if isinstance(pattern, str | bytes | re.Pattern) else pattern
        )
        if not given:
            raise UsageError("expect() needs at least one pattern")
        wanted = [matcher_for(p, _MAX_SPAN) for p in given]
        end = len(self._buf)
        best: tuple[int, int, int] | None = None
        for index, matcher in enumerate(wanted):
            limit = end if best is None else best[0] - 1
            span = matcher.find(self._buf, self._pos, limit)
            if span is not None:
                best = (span[0], span[1], index)
        bad = BadScanner(self._bad, _MAX_SPAN).find(
            self._buf, self._pos, end if best is None else best[0]
        )
        if bad is not None:
            self._pos = bad[1]
            raise BadPatternSeen(
                self.port,
                bad[2].name,
                self._line(bad[0], bad[1]),
                [m.describe() for m in wanted],
                stage=stage,
                last_lines=self._last_lines(),
                log_path=self.log_path,
            )
        if best is None:
            self._pos = end
            raise ConsoleLost(
                self.port,
                "the capture ended",
                stage=stage,
                last_lines=self._last_lines(),
                log_path=self.log_path,
            )
        start, stop, index = best
        matcher = wanted[index]
        found = matcher.match_object(self._data, (start, stop))
        raw: Any = self._data[self._pos : start]
        before = raw.decode("utf-8", "replace") if matcher.is_text else raw
        self._pos = stop
        return ConsoleMatch(index, matcher.source, found, before, time.monotonic())

    def _line(self, start: int, stop: int) -> str:
        lo = self._data.rfind(b"\n", 0, start) + 1
        hi = self._data.find(b"\n", stop)
        line = self._data[lo : hi if hi >= 0 else len(self._data)]
        return line.decode("utf-8", "replace").rstrip("\r\n")

    def _last_lines(self, n: int = 20) -> list[str]:
        text = self._data[: self._pos].decode("utf-8", "replace")
        lines = [line.rstrip("\r") for line in text.split("\n")]
        return [line for line in lines if line][-n:]
