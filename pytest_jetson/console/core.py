"""The serial console: a reader thread that never stops draining the port, and ``expect``.

Design for speed: the reader thread reads until the port is drained and per read does only
C-level work: append to the buffer, queue the bytes for the log (stamped, masked and written in
batches, see :mod:`.log`) and search the awaited patterns over the new data plus a small
overlap. A short read means the port is drained: it is handled at once, and when short reads
keep coming (a slow line, 115200 baud) the reader naps a few milliseconds between reads instead
of waking for every few bytes. Bad patterns are searched in batches (every 64 KiB, every few
milliseconds, when the port goes quiet, and always before a match is reported), in one pass when
possible (:class:`~.patterns.BadScanner`). The waiting caller sleeps on a condition variable and
is woken only when its wait is decided; the match it gets is built from a snapshot of the
match's neighbourhood, never the rest of the buffer.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import select
import threading
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pytest_jetson.console.errors import BadPatternSeen, ConsoleLost, ConsoleTimeout
from pytest_jetson.console.log import ConsoleLog, wall_clock
from pytest_jetson.console.patterns import (
    DEFAULT_BAD_PATTERNS,
    BadPattern,
    BadScanner,
    Matcher,
    PatternLike,
    matcher_for,
)
from pytest_jetson.console.port import READ_SIZE, AttachedTransport, SerialTransport, Transport
from pytest_jetson.errors import UsageError, clip
from pytest_jetson.inputs import MAX_SECONDS, check_seconds

if TYPE_CHECKING:
    import serial

_IDLE_FLUSH_MS = 50
_COALESCE_BYTES = 1 << 16
_COALESCE_SECONDS = 0.001
_SHORT_READ = 1024
# Short reads less than _TRICKLE_GAP apart are a slow line: the reader then naps _GATHER_MS
# between reads, so a match is reported at most that much later while data trickles in.
_GATHER_MS = 5
_TRICKLE_GAP = 2 * _GATHER_MS / 1000
# Bad patterns lag the data by at most _BAD_BATCH bytes (never more than a quarter of the
# buffer, so nothing is trimmed unsearched) or _BAD_LAG seconds, and are searched up to a match
# before it is reported.
_BAD_BATCH = 1 << 16
_BAD_LAG = 0.005
_SETTLE_MS = 5
_SINGLE = (str, bytes, re.Pattern)
_POLL_IN = select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP


@dataclass(frozen=True)
class ConsoleMatch:
    """What ``expect`` found.

    ``match`` is a real :class:`re.Match` (over decoded text for ``str`` patterns, over bytes
    for ``bytes`` patterns); ``before`` is what came between the previous match and this one
    (same type; cut to the bounded buffer); ``time`` is the monotonic time the matched bytes
    arrived.
    """

    index: int
    """Which of the patterns given to ``expect`` matched."""
    pattern: str | bytes
    match: re.Match[Any]
    before: Any
    time: float

    def group(self, *groups: int | str) -> Any:
        """Shorthand for ``match.group(...)``."""
        return self.match.group(*groups)

    @property
    def line(self) -> str:
        """The whole line the match is in (as far as it had arrived), decoded and stripped."""
        source, start, end = self.match.string, self.match.start(), self.match.end()
        newline: Any = "\n" if isinstance(source, str) else b"\n"
        lo = source.rfind(newline, 0, start) + 1
        hi = source.find(newline, end)
        found = source[lo : hi if hi >= 0 else len(source)]
        text = found if isinstance(found, str) else found.decode("utf-8", "replace")
        return str(text).strip()

    @property
    def text(self) -> str:
        """The matched text, decoded."""
        found = self.match.group(0)
        return found if isinstance(found, str) else found.decode("utf-8", "replace")


class _Wait:
    """One ``expect`` in progress: its matchers, where its scans have reached, its outcome.

    The awaited patterns are searched on every read; bad patterns lag behind by at most
    ``batch`` bytes or ``_BAD_LAG`` seconds, and are always searched up to a match before it
    is reported, so a bad pattern that came first still wins.
    """

    __slots__ = (
        "bad",
        "bad_at",
        "bad_hit",
        "bad_line",
        "bad_scanned",
        "batch",
        "decided",
        "hit",
        "result",
        "scanned",
        "start",
        "wanted",
    )

    def __init__(
        self,
        wanted: Sequence[Matcher],
        bad: BadScanner | None,
        start: int,
        batch: int,
        now: float,
    ) -> None:
        self.wanted = wanted
        self.bad = bad
        self.start = start
        self.scanned = start
        self.bad_scanned = start
        self.bad_at = now
        self.batch = batch
        self.decided = False
        self.hit: tuple[int, int, int] | None = None
        self.bad_hit: tuple[int, int, BadPattern] | None = None
        self.result: ConsoleMatch | None = None
        self.bad_line = ""

    def scan(self, buf: bytearray, base: int, now: float, settle: bool = False) -> bool:
        """Search data received since the last scan; True once the wait is decided.

        ``settle`` searches the bad patterns up to the end of the data whatever the batch.
        """
        end = base + len(buf)
        floor = self.start if self.start > base else base
        best: tuple[int, int, int] | None = None
        if end > self.scanned:
            limit = len(buf)
            scanned = self.scanned
            for index, matcher in enumerate(self.wanted):
                begin = scanned - matcher.overlap
                span = matcher.find(buf, (begin if begin > floor else floor) - base, limit)
                if span is not None:
                    best = (span[0], span[1], index)
                    limit = span[0] - 1
            self.scanned = end
        bad = self.bad
        if (
            bad is not None
            and end > self.bad_scanned
            and (
                best is not None
                or settle
                or end - self.bad_scanned >= self.batch
                or now - self.bad_at >= _BAD_LAG
            )
        ):
            begin = self.bad_scanned - bad.overlap
            found = bad.find(
                buf,
                (begin if begin > floor else floor) - base,
                len(buf) if best is None else best[0],
            )
            self.bad_scanned = end
            self.bad_at = now
            if found is not None:
                self.bad_hit = (found[0] + base, found[1] + base, found[2])
                self.decided = True
                return True
        if best is not None:
            self.hit = (best[0] + base, best[1] + base, best[2])
            self.decided = True
            return True
        return False

    def bad_pending(self, end: int) -> bool:
        """Whether received data still awaits the bad-pattern search."""
        return not self.decided and self.bad is not None and end > self.bad_scanned


class SerialConsole:
    """A serial console with a background reader, a timestamped log and ``expect``.

    ``transport`` is a :class:`~pytest_jetson.console.port.Transport`, a device path or pyserial
    URL (opened with :class:`~pytest_jetson.console.port.SerialTransport`), or an open pyserial
    object or file descriptor (wrapped in :class:`~pytest_jetson.console.port.AttachedTransport`).
    The console starts reading at once; use it as a context manager or call :meth:`close`.

    ``max_buffer`` bounds the memory kept for matching (older data stays in the log only);
    ``max_span`` is the overlap re-searched for patterns of unbounded width; a port that
    vanishes is reopened for up to ``reconnect_timeout`` seconds before the console is lost.
    """

    newline = b"\n"

    def __init__(
        self,
        transport: Transport | str | int | serial.SerialBase,
        *,
        log: str | Path | None = None,
        baudrate: int = 115200,
        bad_patterns: Iterable[BadPattern] = DEFAULT_BAD_PATTERNS,
        max_buffer: int = 1 << 20,
        max_span: int = 2048,
        reconnect_timeout: float = 10.0,
        reconnect_interval: float = 0.05,
        open_timeout: float = 0.0,
    ) -> None:
        if isinstance(transport, str):
            transport = SerialTransport(transport, baudrate)
        elif not isinstance(transport, Transport):
            transport = AttachedTransport(transport)
        self._transport: Transport = transport
        self._max_buffer = max(max_buffer, 4 * max_span, 1 << 14)
        self._max_span = max_span
        self._reconnect_timeout = reconnect_timeout
        self._reconnect_interval = reconnect_interval
        self._t0 = time.monotonic()
        self._log = ConsoleLog(log, self._t0)
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._buf = bytearray()
        self._base = 0
        self._consumed = 0
        self._dropped = 0
        self._chunk_ends: list[int] = []
        self._chunk_times: list[float] = []
        self._wait: _Wait | None = None
        self._byte_waiters = 0
        self._lost: str | None = None
        self._connected = False
        self._bad: list[BadPattern] = list(bad_patterns)
        self._disabled: Counter[str] = Counter()
        self._bad_scanner: BadScanner | None = None
        self._bad_batch = min(_BAD_BATCH, self._max_buffer // 4)
        self._active_bad()  # built (and its search automaton loaded) before the first expect
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self._open_first(open_timeout)
        self._log.note(f"console {self.port} opened at {wall_clock()}", self._t0)
        self._thread = threading.Thread(
            target=self._run, name=f"console-reader {self.port}", daemon=True
        )
        self._thread.start()

    @classmethod
    def open(
        cls, port: str, baudrate: int = 115200, *, log: str | Path | None = None, **options: Any
    ) -> SerialConsole:
        """Open ``port`` (a device path or a pyserial URL such as ``rfc2217://host:port``).

        ``options`` are the keyword arguments of the constructor. The result is a context
        manager that closes the console.
        """
        return cls(SerialTransport(port, baudrate), log=log, **options)

    # -- public API --------------------------------------------------------------------------

    @property
    def port(self) -> str:
        """The port's path or URL."""
        return self._transport.name

    @property
    def log_path(self) -> Path | None:
        """The full log file, or None when not logging."""
        return self._log.path

    @property
    def bytes_received(self) -> int:
        """Every byte received since the console opened."""
        with self._cond:
            return self._base + len(self._buf)

    def wait_received(self, after: int, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until :attr:`bytes_received` exceeds ``after``
        (whether it did); nothing is matched or consumed, so a later :meth:`expect` still
        sees those bytes. Returns early, False, when the port is gone for good."""
        check_seconds(timeout, "wait_received(): timeout", zero_ok=True)
        deadline = time.monotonic() + timeout
        with self._cond:
            self._byte_waiters += 1
            try:
                while self._base + len(self._buf) <= after and self._lost is None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
            finally:
                self._byte_waiters -= 1
            return self._base + len(self._buf) > after

    @property
    def buffered(self) -> int:
        """Bytes held in memory for matching (bounded by ``max_buffer``)."""
        with self._cond:
            return len(self._buf)

    @property
    def connected(self) -> bool:
        """Whether the port is open right now (False while it is being reopened)."""
        with self._cond:
            return self._connected

    def expect(
        self,
        pattern: PatternLike | Sequence[PatternLike],
        timeout: float = 30.0,
        *,
        stage: str | None = None,
    ) -> ConsoleMatch:
        """Wait for the first of ``pattern`` in data not matched before.

        Bad patterns are watched at the same time and raise
        :class:`~pytest_jetson.console.errors.BadPatternSeen` as soon as they show up.
        ``stage`` names what is being awaited in messages. Raises
        :class:`~pytest_jetson.console.errors.ConsoleTimeout` after ``timeout`` seconds and
        :class:`~pytest_jetson.console.errors.ConsoleLost` when the port is gone for good.
        """
        if not 0 <= timeout <= MAX_SECONDS:  # inf, nan, negative: refused, never waited on
            check_seconds(timeout, "expect(): timeout", zero_ok=True)
        span = self._max_span
        if isinstance(pattern, _SINGLE):
            wanted = [matcher_for(pattern, span)]
        else:
            wanted = [matcher_for(p, span) for p in pattern]
            if not wanted:
                raise UsageError("expect() needs at least one pattern")
        now = time.monotonic()
        deadline = now + timeout
        with self._lock:
            start = self._consumed if self._consumed > self._base else self._base
            bad = self._bad_scanner if self._bad_scanner is not None else self._active_bad()
            wait = _Wait(wanted, bad if bad.patterns else None, start, self._bad_batch, now)
            if wait.scan(self._buf, self._base, now, settle=True):
                self._capture(wait)
            else:
                self._wait = wait
                try:
                    while wait.hit is None and wait.bad_hit is None and self._lost is None:
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            break
                        self._cond.wait(remaining)
                finally:
                    self._wait = None
            if wait.result is not None:
                return wait.result
            if wait.bad_hit is not None:
                failure: Exception = BadPatternSeen(
                    self.port,
                    wait.bad_hit[2].name,
                    wait.bad_line,
                    [m.describe() for m in wanted],
                    stage=stage,
                    last_lines=self._last_lines_locked(20),
                    log_path=self.log_path,
                )
            elif self._lost is not None:
                failure = ConsoleLost(
                    self.port,
                    self._lost,
                    stage=stage,
                    last_lines=self._last_lines_locked(20),
                    log_path=self.log_path,
                )
            else:
                failure = ConsoleTimeout(
                    self.port,
                    [m.describe() for m in wanted],
                    timeout,
                    stage=stage,
                    last_lines=self._last_lines_locked(20),
                    log_path=self.log_path,
                )
        self._log.flush()
        raise failure

    def write(self, data: bytes | str, *, timeout: float = 5.0) -> None:
        """Send raw data, waiting for the port when it is being reopened."""
        raw = data.encode() if isinstance(data, str) else data
        deadline = time.monotonic() + check_seconds(timeout, "write(): timeout", zero_ok=True)
        while True:
            self._wait_connected(deadline)
            try:
                self._transport.write(raw, max(deadline - time.monotonic(), 0.01))
                return
            except OSError as exc:
                if time.monotonic() >= deadline:
                    raise ConsoleLost(
                        self.port, f"write failed: {exc}", log_path=self.log_path
                    ) from exc
                time.sleep(self._reconnect_interval)

    def sendline(
        self, text: str | bytes = "", *, secret: bool = False, timeout: float = 5.0
    ) -> None:
        """Send ``text`` and a newline. ``secret`` text is masked should the port echo it.

        The log records received bytes only; what is sent appears there only as the DUT's echo.
        """
        raw = text.encode() if isinstance(text, str) else text
        if secret:
            self._log.add_secret(raw)
        self.write(raw + self.newline, timeout=timeout)

    def last_lines(self, n: int = 20) -> list[str]:
        """The last ``n`` lines received (decoded; secrets masked)."""
        with self._cond:
            return self._last_lines_locked(n)

    def discard(self) -> None:
        """Treat everything received so far as matched (before triggering a reset, say)."""
        with self._cond:
            self._consumed = self._base + len(self._buf)

    def add_bad_pattern(self, pattern: BadPattern) -> None:
        """Watch ``pattern`` in every later wait."""
        with self._cond:
            self._bad.append(pattern)
            self._bad_scanner = None

    def remove_bad_pattern(self, name: str) -> None:
        """Stop watching every bad pattern called ``name``."""
        with self._cond:
            self._require_bad_name(name)
            self._bad = [p for p in self._bad if p.name != name]
            self._bad_scanner = None

    @property
    def bad_patterns(self) -> tuple[BadPattern, ...]:
        """The bad patterns watched (including switched-off ones)."""
        with self._cond:
            return tuple(self._bad)

    @contextlib.contextmanager
    def disable_bad_pattern(self, *names: str) -> Iterator[None]:
        """Switch the bad patterns called ``names`` off inside a ``with`` block."""
        with self._cond:
            for name in names:
                self._require_bad_name(name)
            self._disabled.update(names)
            self._bad_scanner = None
        try:
            yield
        finally:
            with self._cond:
                self._disabled.subtract(names)
                self._bad_scanner = None

    @contextlib.contextmanager
    def extra_bad_patterns(self, patterns: Iterable[BadPattern]) -> Iterator[None]:
        """Watch ``patterns`` too inside a ``with`` block (the OEM wizard during a boot, say)."""
        added = list(patterns)
        with self._cond:
            self._bad.extend(added)
            self._bad_scanner = None
        try:
            yield
        finally:
            with self._cond:
                for pattern in added:
                    self._bad.remove(pattern)
                self._bad_scanner = None

    def close(self) -> None:
        """Stop the reader, close the port and the log. Safe to call twice."""
        if self._stop.is_set():
            return
        self._stop.set()
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")
        self._thread.join(timeout=5.0)
        self._transport.close()
        self._log.note(f"console {self.port} closed at {wall_clock()}")
        self._log.close()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        with self._cond:
            self._connected = False
            if self._lost is None:
                self._lost = "the console was closed"
            self._cond.notify_all()

    def __enter__(self) -> SerialConsole:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<SerialConsole {self.port} log={self.log_path}>"

    # -- reader thread -----------------------------------------------------------------------

    def _open_first(self, open_timeout: float) -> None:
        deadline = time.monotonic() + open_timeout
        while True:
            try:
                self._transport.open()
                self._connected = True
                return
            except OSError as exc:
                if time.monotonic() >= deadline:
                    self._log.note(f"console {self.port} cannot be opened: {exc}")
                    self._log.close()
                    os.close(self._wake_r)
                    os.close(self._wake_w)
                    raise ConsoleLost(
                        self.port, f"cannot open: {exc}", log_path=self.log_path
                    ) from exc
                time.sleep(self._reconnect_interval)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                fd = self._transport.fileno()
                if fd is not None:
                    self._pump_fd(fd)
                else:
                    self._pump_transport()
            except OSError as exc:
                if self._stop.is_set() or not self._reconnect(exc):
                    break
        self._log.flush()

    def _pump_fd(self, fd: int) -> None:
        if os.get_blocking(fd):
            os.set_blocking(fd, False)
        poller = select.poll()
        poller.register(fd, _POLL_IN)
        poller.register(self._wake_r, select.POLLIN)
        gather = select.poll()
        gather.register(self._wake_r, select.POLLIN)
        read = os.read
        clock = time.monotonic
        on_data = self._on_data
        stop = self._stop
        ready = False
        held: list[bytes] = []
        held_size = 0
        first = last = 0.0
        short_at = -_TRICKLE_GAP
        while not stop.is_set():
            try:
                data: bytes | None = read(fd, READ_SIZE)
            except BlockingIOError:
                data = None
            except OSError:
                if held:
                    on_data(held, first, last)
                raise
            if data:
                # Reads that follow each other closely are handled as one: per read, only this.
                ready = False
                last = clock()
                if not held:
                    first = last
                held.append(data)
                held_size += len(data)
                if len(data) >= _SHORT_READ:
                    short_at = -_TRICKLE_GAP
                    if held_size < _COALESCE_BYTES and last - first < _COALESCE_SECONDS:
                        continue
                    on_data(held, first, last)
                    held = []
                    held_size = 0
                    continue
                # A short read drained the port. When short reads follow each other (a slow
                # line), let the next ones gather for a few milliseconds instead of waking
                # for each (the wake pipe still ends the nap at once).
                on_data(held, first, last)
                held = []
                held_size = 0
                trickling = last - short_at < _TRICKLE_GAP
                short_at = last
                if trickling and not gather.poll(_GATHER_MS):
                    continue
            elif held:
                on_data(held, first, last)
                held = []
                held_size = 0
            # A tty in raw mode (VMIN=0, as pyserial sets it) reads b"" when merely drained;
            # only a read that poll announced and that still returns nothing is a hang-up.
            elif data is not None and ready:
                raise OSError(errno.EIO, "port returned end of file (unplugged?)")
            ready = self._idle(poller)
        if held:
            on_data(held, first, last)

    def _idle(self, poller: select.poll) -> bool:
        """Wait for the port while drained; settle batched work when it stays quiet.

        True when poll reported the port itself ready.
        """
        wait = self._wait
        settle = wait is not None and wait.bad_pending(self._base + len(self._buf))
        timeout = _SETTLE_MS if settle else _IDLE_FLUSH_MS if self._log.dirty else None
        events = poller.poll(timeout)
        if events:
            # Two fds are registered: the port is ready unless the only event is the wake pipe.
            return len(events) > 1 or events[0][0] != self._wake_r
        if settle:
            self._settle()
        else:
            self._log.flush()
        return False

    def _settle(self) -> None:
        with self._cond:
            wait = self._wait
            if (
                wait is not None
                and not wait.decided
                and wait.scan(self._buf, self._base, time.monotonic(), settle=True)
            ):
                self._capture(wait)
                self._cond.notify_all()

    def _pump_transport(self) -> None:
        while not self._stop.is_set():
            wait = self._wait
            settle = wait is not None and wait.bad_pending(self._base + len(self._buf))
            data = self._transport.read((_SETTLE_MS if settle else _IDLE_FLUSH_MS) / 1000)
            if data:
                now = time.monotonic()
                self._on_data([data], now, now)
            elif settle:
                self._settle()
            else:
                self._log.flush()

    def _on_data(self, chunks: list[bytes], first: float, last: float) -> None:
        """Take consecutive reads made between monotonic times ``first`` and ``last`` (<= 1 ms)."""
        self._log.write(chunks, first)
        with self._lock:
            buf = self._buf
            for data in chunks:
                buf += data
            end = self._base + len(buf)
            self._chunk_ends.append(end)
            self._chunk_times.append(last)
            wait = self._wait
            if wait is not None and not wait.decided and wait.scan(buf, self._base, last):
                self._capture(wait)
                self._cond.notify_all()
            elif self._byte_waiters:
                self._cond.notify_all()
            if len(buf) > self._max_buffer:
                self._trim()

    def _trim(self) -> None:
        # A decided wait has already captured what it needs (``_capture`` runs under the same
        # lock as the scan), so nothing pins the buffer while its caller is still waking up.
        cut = len(self._buf) - self._max_buffer // 2
        new_base = self._base + cut
        if self._consumed < new_base:
            self._dropped += new_base - max(self._consumed, self._base)
        del self._buf[:cut]
        self._base = new_base
        drop = bisect_left(self._chunk_ends, new_base)
        if drop > 1024:
            del self._chunk_ends[:drop]
            del self._chunk_times[:drop]

    def _reconnect(self, exc: OSError) -> bool:
        lost_at = time.monotonic()
        lost_wall = wall_clock()
        with self._cond:
            self._connected = False
        self._transport.close()
        if self._transport.can_reopen:
            deadline = lost_at + self._reconnect_timeout
            while not self._stop.wait(self._reconnect_interval):
                try:
                    self._transport.open()
                except OSError:
                    if time.monotonic() >= deadline:
                        break
                    continue
                gap = time.monotonic() - lost_at
                self._log.note(
                    f"--- console lost at {lost_wall} ({exc.strerror or exc}), "
                    f"reopened after {gap:.2f} s ---"
                )
                with self._cond:
                    self._connected = True
                    self._cond.notify_all()
                return True
            if self._stop.is_set():
                return False
            reason = (
                f"lost at {lost_wall} ({exc.strerror or exc}) and not back after "
                f"{self._reconnect_timeout:.1f} s"
            )
        else:
            reason = f"lost at {lost_wall} ({exc.strerror or exc}); this port cannot be reopened"
        self._log.note(f"--- console {reason} ---")
        with self._cond:
            self._lost = reason
            self._cond.notify_all()
        return False

    # -- helpers (called with the lock held unless said otherwise) ---------------------------

    def _wait_connected(self, deadline: float) -> None:
        with self._cond:
            while not self._connected:
                if self._lost is not None:
                    raise ConsoleLost(self.port, self._lost, log_path=self.log_path)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ConsoleLost(
                        self.port, "port not back in time to write", log_path=self.log_path
                    )
                self._cond.wait(remaining)

    def _active_bad(self) -> BadScanner:
        """The scanner of the bad patterns switched on (rebuilt after every change)."""
        if self._bad_scanner is None:
            active = [p for p in self._bad if self._disabled[p.name] <= 0]
            self._bad_scanner = BadScanner(active, self._max_span)
        return self._bad_scanner

    def _require_bad_name(self, name: str) -> None:
        known = sorted({p.name for p in self._bad})
        if name not in known:
            raise UsageError(f"no bad pattern called {name!r}; known: {', '.join(known)}")

    def _capture(self, wait: _Wait) -> None:
        """Record a decided wait while the data it saw is still exactly what is buffered."""
        base, buf = self._base, self._buf
        if wait.bad_hit is not None:
            start, end, _ = wait.bad_hit
            self._consumed = end
            wait.bad_line = self._line_at(start, end)
            return
        assert wait.hit is not None
        start, end, index = wait.hit
        matcher = wait.wanted[index]
        # The snapshot holds what ``before`` and lookbehinds need and what a lookahead can see
        # past the match (the matcher's overlap); all the rest of the buffer only when a
        # lookahead reached further than that.
        lo = max(min(wait.start - base, start - base - 1024), 0)
        span = (start - base - lo, end - base - lo)
        snap = bytes(buf[lo : end - base + matcher.overlap + 1])
        found = matcher.match_in(snap, span)
        if found is None:
            snap = bytes(buf[lo:])
            found = matcher.match_object(snap, span)
        raw_before = snap[max(wait.start - base - lo, 0) : start - base - lo]
        before: Any = raw_before.decode("utf-8", "replace") if matcher.is_text else raw_before
        self._consumed = end
        arrived = bisect_left(self._chunk_ends, end)
        when = self._chunk_times[min(arrived, len(self._chunk_times) - 1)]
        wait.result = ConsoleMatch(index, matcher.source, found, before, when)

    def _line_at(self, start: int, end: int) -> str:
        buf = self._buf
        lo = buf.rfind(b"\n", max(start - self._base - 512, 0), start - self._base) + 1
        hi = buf.find(b"\n", end - self._base, end - self._base + 512)
        line = bytes(buf[lo : hi if hi >= 0 else end - self._base + 512])
        return self._log.mask(line).decode("utf-8", "replace").rstrip("\r\n")

    def _last_lines_locked(self, n: int) -> list[str]:
        buf = self._buf
        pos = len(buf) - 1 if buf.endswith(b"\n") else len(buf)
        for _ in range(n):
            found = buf.rfind(b"\n", 0, pos)
            if found < 0:
                pos = -1
                break
            pos = found
        text = self._log.mask(bytes(buf[pos + 1 :])).decode("utf-8", "replace")
        lines = [clip(line.rstrip("\r")) for line in text.split("\n")]
        return [line for line in lines if line][-n:]
