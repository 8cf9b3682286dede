"""Where console bytes come from: a serial port, a pyserial URL, or an already-open port.

:class:`Transport` is the seam between :class:`pytest_jetson.console.SerialConsole` and the
byte source. :class:`SerialTransport` opens a device path or a pyserial URL (``rfc2217://host:port``
for ser2net or labgrid benches) and can reopen it after a USB re-enumeration;
:class:`AttachedTransport` wraps a port someone else opened (a pyserial object or a file
descriptor, such as the slave side of a pty handed over by a test or the simulator).

A transport that exposes :meth:`Transport.fileno` is read by the console with ``poll`` and large
``os.read`` calls, bypassing pyserial's per-call overhead. Every transport reports a vanished port
as an :class:`OSError` (pyserial's ``SerialException`` is one) or as end-of-file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import time
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import serial

READ_SIZE = 1 << 16
"""Largest single read; a pty delivers at most 4 KiB per read, a USB serial a few KiB."""


@runtime_checkable
class Transport(Protocol):
    """A byte source and sink for a console."""

    @property
    def name(self) -> str:
        """What the transport reads from, for messages (a path or URL)."""
        ...

    @property
    def can_reopen(self) -> bool:
        """Whether :meth:`open` may be called again after :meth:`close` (port re-enumeration)."""
        ...

    def open(self) -> None:
        """Open (or reopen) the port. Raises :class:`OSError` when it is not there."""
        ...

    def fileno(self) -> int | None:
        """A pollable, non-blocking file descriptor to read from, or None."""
        ...

    def read(self, timeout: float) -> bytes:
        """Return the bytes available, waiting up to ``timeout`` seconds for the first one.

        Returns ``b""`` when nothing arrived; raises :class:`OSError` when the port is gone.
        """
        ...

    def write(self, data: bytes, timeout: float) -> None:
        """Write all of ``data`` within ``timeout`` seconds (:class:`OSError` on failure)."""
        ...

    def close(self) -> None:
        """Close the port; safe to call twice."""
        ...


def _read_fd(fd: int, timeout: float) -> bytes:
    ready = select.select([fd], [], [], max(timeout, 0.0))[0]
    if not ready:
        return b""
    try:
        data = os.read(fd, READ_SIZE)
    except BlockingIOError:
        return b""
    if not data:
        raise OSError(errno.EIO, "port reported readiness but returned no data (unplugged?)")
    return data


def _write_fd(fd: int, data: bytes, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
            continue
        except BlockingIOError:
            pass
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise OSError(
                errno.ETIMEDOUT, f"write of {len(data)} bytes timed out after {timeout} s"
            )
        select.select([], [fd], [], remaining)


class _PyserialIO:
    """Reads and writes through a pyserial object, using its fd when it has one."""

    _port: serial.SerialBase | None

    def fileno(self) -> int | None:
        port = self._port
        if port is None:
            return None
        try:
            return int(port.fileno())
        except (AttributeError, OSError, ValueError):
            return None

    def read(self, timeout: float) -> bytes:
        fd = self.fileno()
        if fd is not None:
            return _read_fd(fd, timeout)
        port = self._require()
        port.timeout = timeout
        first = port.read(1)
        if not first:
            return b""
        waiting = int(getattr(port, "in_waiting", 0))
        return first + (port.read(waiting) if waiting else b"")

    def write(self, data: bytes, timeout: float) -> None:
        fd = self.fileno()
        if fd is not None:
            _write_fd(fd, data, timeout)
            return
        port = self._require()
        try:
            port.write_timeout = timeout
        except NotImplementedError:
            # rfc2217:// (ser2net, labgrid benches) cannot bound a write; the socket does.
            port.write_timeout = None
        port.write(data)
        port.flush()

    def _require(self) -> serial.SerialBase:
        if self._port is None:
            raise OSError(errno.EBADF, "port is not open")
        return self._port


class SerialTransport(_PyserialIO):
    """A serial port named by a device path or a pyserial URL; reopenable."""

    def __init__(self, port: str, baudrate: int = 115200) -> None:
        self._url = port
        self._baudrate = baudrate
        self._port = None

    @property
    def name(self) -> str:
        """The device path or URL."""
        return self._url

    @property
    def can_reopen(self) -> bool:
        """Always True: the same path or URL is opened again."""
        return True

    def open(self) -> None:
        """Open the port at 8N1 and the configured baud rate."""
        import serial

        self.close()
        try:
            self._port = serial.serial_for_url(self._url, baudrate=self._baudrate, timeout=0)
        except ValueError as exc:
            raise OSError(errno.EINVAL, f"{self._url}: {exc}") from exc

    def close(self) -> None:
        """Close the port if it is open."""
        port, self._port = self._port, None
        if port is not None:
            with contextlib.suppress(OSError):
                port.close()


class AttachedTransport(_PyserialIO):
    """A port opened elsewhere: a pyserial object or a file descriptor (not reopenable).

    ``owns`` says whether :meth:`close` closes the port or fd.
    """

    def __init__(
        self, port: serial.SerialBase | int, *, name: str | None = None, owns: bool = True
    ) -> None:
        self._fd: int | None = None
        self._port = None
        if isinstance(port, int):
            self._fd = port
            os.set_blocking(port, False)
        else:
            self._port = port
        self._owns = owns
        self._name = name or (f"fd {port}" if isinstance(port, int) else str(port.port))

    @property
    def name(self) -> str:
        """A name for messages."""
        return self._name

    @property
    def can_reopen(self) -> bool:
        """Always False: nobody here knows how to open it again."""
        return False

    def open(self) -> None:
        """Nothing to do for an open port; an :class:`OSError` once it has been closed."""
        if self._fd is None and self._port is None:
            raise OSError(errno.EBADF, f"{self._name}: closed and cannot be reopened")

    def fileno(self) -> int | None:
        """The fd given, or the pyserial object's fd."""
        return self._fd if self._fd is not None else super().fileno()

    def close(self) -> None:
        """Close (when owned) and forget the port."""
        fd, self._fd = self._fd, None
        port, self._port = self._port, None
        if not self._owns:
            return
        try:
            if fd is not None:
                os.close(fd)
            elif port is not None:
                port.close()
        except OSError:
            pass
