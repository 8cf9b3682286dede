"""The console log file: every received byte, a timestamp at each line start.

Each line starts with the seconds since the console opened, then ``| `` for received data or
``# `` for the console's own notes (open, close, port lost and reopened); a note that cuts an
unfinished data line uses ``~`` instead, and the data line resumes on the next line.

Stamps have millisecond resolution and give the time of the read (while a slow line trickles in,
the reader reads every few milliseconds, so a stamp is up to that much late). Per read, the
reader thread only queues the bytes with their millisecond; the queue is stamped (the reads of
one millisecond joined and stamped with one ``bytes.replace``), masked and written in batches:
every second or 256 KiB, whenever the console goes quiet, and before a note.

Secrets are masked in the stamped byte stream, not read by read: the tail of a batch that could
be the start of a secret is held back until the following bytes show whether it is one, so a
secret echoed one byte per read never reaches the file. Secrets are single-line (a stamp is only
ever inserted after a newline, so it never splits one).
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
        self._queued: list[tuple[int, bytes]] = []
        self._queued_size = 0
        self._pending: list[bytes | memoryview] = []
        self._held = b""
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
        if isinstance(data, list):
            data = data[0] if len(data) == 1 else b"".join(data)
        with self._lock:
            self._queued.append((int((now - self._t0) * 1000), data))
            self._queued_size += len(data)
            if self._queued_size >= _WRITE_BLOCK or now - self._drained_at >= _MAX_AGE:
                self._drained_at = now
                self._seal()
                self._drain()

    @property
    def dirty(self) -> bool:
        """Whether received data waits to be written to the file (a held-back possible start
        of a secret aside)."""
        return bool(self._queued or self._pending)

    def note(self, text: str, now: float | None = None) -> None:
        """Write one console note line (ends an unfinished data line first) and flush.

        What was held back as a possible start of a secret is written first, masked.
        """
        if self._fd is None:
            return
        when = (time.monotonic() if now is None else now) - self._t0
        body = text.encode("utf-8", "replace")
        with self._lock:
            self._seal(final=True)
            if self._at_line_start:
                self._pending.append(b"%*.3f # %s\n" % (STAMP_WIDTH - 3, when, body))
            else:
                self._pending.append(b"\n%*.3f ~ %s\n" % (STAMP_WIDTH - 3, when, body))
                self._at_line_start = True
            self._drain()

    def flush(self) -> None:
        """Push buffered log data to the file (except a possible start of a secret)."""
        if self._queued or self._pending:
            with self._lock:
                self._seal()
                self._drain()

    def close(self) -> None:
        """Flush and close the file."""
        with self._lock:
            self._seal(final=True)
            self._drain()
            fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def _seal(self, *, final: bool = False) -> None:
        """Stamp the queued reads (those of one millisecond together) and queue them for the
        file, masked; ``final`` also releases a held-back tail."""
        queued, self._queued, self._queued_size = self._queued, [], 0
        out: list[bytes | memoryview] = []
        at_start = self._at_line_start
        index, count = 0, len(queued)
        while index < count:
            ms, data = queued[index]
            index += 1
            if index < count and queued[index][0] == ms:
                parts = [data]
                while index < count and queued[index][0] == ms:
                    parts.append(queued[index][1])
                    index += 1
                data = b"".join(parts)
            stamp = b"%*.3f | " % (STAMP_WIDTH - 3, ms / 1000)
            if at_start:
                out.append(stamp)
            stamped = data.replace(b"\n", b"\n" + stamp)
            at_start = data.endswith(b"\n")
            out.append(memoryview(stamped)[: -len(stamp)] if at_start else stamped)
        self._at_line_start = at_start
        if self._secrets and (out or self._held):
            self._pending.append(self._masked(b"".join([self._held, *out]), final))
        else:
            self._pending.extend(out)

    def _masked(self, text: bytes, final: bool) -> bytes:
        """``text`` masked; its tail that could start a secret is held back (or masked when
        ``final``)."""
        text = self.mask(text)
        keep = max(_secret_start_at_end(text, secret) for secret in self._secrets)
        self._held = b""
        if keep == 0:
            return text
        if final:
            return text[:-keep] + MASK
        self._held = text[-keep:]
        return text[:-keep]

    def _drain(self) -> None:
        pending, self._pending = self._pending, []
        if self._fd is None or not pending:
            return
        if len(pending) > _MAX_IOV:
            pending = [b"".join(pending)]
        with contextlib.suppress(OSError):
            written = os.writev(self._fd, pending)
            total = sum(len(piece) for piece in pending)
            if written < total:
                os.write(self._fd, b"".join(pending)[written:])


def _secret_start_at_end(text: bytes, secret: bytes) -> int:
    """The length of the longest end of ``text`` that is a proper start of ``secret``."""
    for size in range(min(len(secret) - 1, len(text)), 0, -1):
        if text.endswith(secret[:size]):
            return size
    return 0


def wall_clock() -> str:
    """The local wall-clock time with milliseconds, for log notes."""
    return datetime.now().astimezone().isoformat(timespec="milliseconds")


def strip_log_stamps(log: bytes) -> bytes:
    """The received bytes recorded in a console log: notes dropped, timestamps removed.

    A note that interrupts an unfinished data line is written as ``\n<stamp> ~ note`` and the
    line goes on after it, so the original bytes are recovered exactly.
    """
    return _DATA_LINE.sub(b"", _NOTE_LINE.sub(b"", _BREAK_NOTE.sub(b"", log)))
