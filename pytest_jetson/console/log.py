"""The console log file: every received byte, a timestamp at each line start.

Each line starts with the seconds since the console opened, then ``| `` for received data or
``# `` for the console's own notes (open, close, port lost and reopened); a note that cuts an
unfinished data line uses ``~`` instead, and the data line resumes on the next line.

Stamps have millisecond resolution, so the reads that arrive within the same millisecond (dozens
of them when a board floods the port) are joined and stamped with one ``bytes.replace``; the
file is written in large blocks, and whenever the console goes quiet.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from datetime import datetime
from pathlib import Path

STAMP_WIDTH = 12
_DATA_LINE = re.compile(rb"^ *\d+\.\d{3} \| ", re.MULTILINE)
_NOTE_LINE = re.compile(rb"^ *\d+\.\d{3} # [^\n]*\n", re.MULTILINE)
_BREAK_NOTE = re.compile(rb"\n *\d+\.\d{3} ~ [^\n]*\n(?: *\d+\.\d{3} \| )?")

MASK = b"********"
_WRITE_BLOCK = 1 << 18
_MAX_AGE = 1.0
_MAX_IOV = 512


class ConsoleLog:
    """A timestamped, append-only console log (or a no-op when ``path`` is None)."""

    def __init__(self, path: str | Path | None, t0: float) -> None:
        self.path = Path(path) if path is not None else None
        self._t0 = t0
        self._at_line_start = True
        self._secrets: tuple[bytes, ...] = ()
        self._lock = threading.Lock()
        self._pending: list[bytes | memoryview] = []
        self._pending_size = 0
        self._group: list[bytes] = []
        self._group_ms = -1
        self._drained_at = t0
        self._fd: int | None = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def add_secret(self, secret: bytes) -> None:
        """Mask ``secret`` wherever it shows up in received data from now on."""
        if secret and secret not in self._secrets:
            self._secrets = (*self._secrets, secret)

    def mask(self, data: bytes) -> bytes:
        """``data`` with every registered secret replaced by asterisks."""
        for secret in self._secrets:
            data = data.replace(secret, MASK)
        return data

    def write(self, data: bytes | list[bytes], now: float) -> None:
        """Append received data (a chunk or consecutive chunks) that arrived at ``now``."""
        if self._fd is None:
            return
        ms = int((now - self._t0) * 1000)
        with self._lock:
            if ms != self._group_ms:
                if self._group:
                    self._seal()
                self._group_ms = ms
                if self._pending_size >= _WRITE_BLOCK or now - self._drained_at >= _MAX_AGE:
                    self._drained_at = now
                    self._drain()
            if isinstance(data, list):
                self._group.extend(data)
            else:
                self._group.append(data)

    @property
    def dirty(self) -> bool:
        """Whether received data waits to be written to the file."""
        return bool(self._group or self._pending)

    def note(self, text: str, now: float | None = None) -> None:
        """Write one console note line (ends an unfinished data line first) and flush."""
        if self._fd is None:
            return
        when = (time.monotonic() if now is None else now) - self._t0
        body = text.encode("utf-8", "replace")
        with self._lock:
            self._seal()
            if self._at_line_start:
                self._pending.append(b"%*.3f # %s\n" % (STAMP_WIDTH - 3, when, body))
            else:
                self._pending.append(b"\n%*.3f ~ %s\n" % (STAMP_WIDTH - 3, when, body))
                self._at_line_start = True
            self._drain()

    def flush(self) -> None:
        """Push buffered log data to the file."""
        if self._group or self._pending:
            with self._lock:
                self._seal()
                self._drain()

    def close(self) -> None:
        """Flush and close the file."""
        with self._lock:
            self._seal()
            self._drain()
            fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def _seal(self) -> None:
        """Stamp the reads of the current millisecond and queue them for the file."""
        group = self._group
        if not group:
            return
        data = group[0] if len(group) == 1 else b"".join(group)
        group.clear()
        if self._secrets:
            data = self.mask(data)
        stamp = b"%*.3f | " % (STAMP_WIDTH - 3, self._group_ms / 1000)
        stamped = data.replace(b"\n", b"\n" + stamp)
        pending = self._pending
        if self._at_line_start:
            pending.append(stamp)
        self._at_line_start = data.endswith(b"\n")
        pending.append(memoryview(stamped)[: -len(stamp)] if self._at_line_start else stamped)
        self._pending_size += len(stamped)

    def _drain(self) -> None:
        pending, self._pending, self._pending_size = self._pending, [], 0
        if self._fd is None or not pending:
            return
        if len(pending) > _MAX_IOV:
            pending = [b"".join(pending)]
        with contextlib.suppress(OSError):
            written = os.writev(self._fd, pending)
            total = sum(len(piece) for piece in pending)
            if written < total:
                os.write(self._fd, b"".join(pending)[written:])


def wall_clock() -> str:
    """The local wall-clock time with milliseconds, for log notes."""
    return datetime.now().astimezone().isoformat(timespec="milliseconds")


def strip_log_stamps(log: bytes) -> bytes:
    """The received bytes recorded in a console log: notes dropped, timestamps removed.

    A note that interrupts an unfinished data line is written as ``\n<stamp> ~ note`` and the
    line goes on after it, so the original bytes are recovered exactly.
    """
    return _DATA_LINE.sub(b"", _NOTE_LINE.sub(b"", _BREAK_NOTE.sub(b"", log)))
