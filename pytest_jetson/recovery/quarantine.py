"""Quarantine: a DUT whose recovery ladder ran out is left alone by later sessions.

The record is a JSON file next to the DUT's lock (``<lock_dir>/<dut>.quarantine.json``), so
every session on the bench host that agrees on the lock agrees on the quarantine too. A later
session reads it before it takes the lock or calls any tool, and reports the DUT as an
infrastructure error naming the reason; only a requalification that passes removes it.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from pytest_jetson.errors import BenchError
from pytest_jetson.host.lock import lock_file_stem


class Quarantined(BenchError):
    """The DUT is quarantined: the session does not touch it (no lock, no tool)."""


@dataclass(frozen=True)
class Attempt:
    """One requalification attempt: when, by which run, and what it found."""

    time: float
    run: str
    result: str


@dataclass(frozen=True)
class QuarantineRecord:
    """Why and when a DUT was quarantined, by which run, and the requalifications tried."""

    dut: str
    reason: str
    time: float
    run: str
    attempts: tuple[Attempt, ...] = field(default=())

    def describe(self) -> str:
        """One line for a report: the reason, when and by which run."""
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.time))
        tried = f"; {len(self.attempts)} requalification(s) failed" if self.attempts else ""
        return f"DUT {self.dut} is quarantined since {when} by {self.run}: {self.reason}{tried}"


class QuarantineBook:
    """Quarantine records kept somewhere: read, check, put, add an attempt, lift. Subclasses
    say where a DUT's record text lives (:meth:`_text`, :meth:`_store`, :meth:`_drop`)."""

    def where(self, dut: str) -> str:
        """Where the record of ``dut`` lives, for messages."""
        raise NotImplementedError

    def _text(self, dut: str) -> str | None:
        """The record's JSON text, None when there is none."""
        raise NotImplementedError

    def _store(self, dut: str, text: str) -> None:
        """Write the record's JSON text (replacing the old one at once)."""
        raise NotImplementedError

    def _drop(self, dut: str) -> bool:
        """Remove the record; whether there was one."""
        raise NotImplementedError

    def read(self, dut: str) -> QuarantineRecord | None:
        """The record of ``dut``, or None when it is not quarantined (a broken record never
        blocks a DUT silently: it is a :class:`Quarantined` naming where it is)."""
        text = self._text(dut)
        if text is None:
            return None
        try:
            data = json.loads(text)
            attempts = tuple(Attempt(**a) for a in data.pop("attempts", ()))
            return QuarantineRecord(**data, attempts=attempts)
        except (ValueError, TypeError, AttributeError) as exc:
            raise Quarantined(
                f"DUT {dut}: unreadable quarantine record {self.where(dut)}: {exc}"
            ) from None

    def check(self, dut: str) -> None:
        """Raise :class:`Quarantined` naming the reason when ``dut`` is quarantined."""
        record = self.read(dut)
        if record is not None:
            raise Quarantined(
                f"{record.describe()} (not touched; lift it with: python -m pytest_jetson "
                f"requalify {dut})"
            )

    def put(self, dut: str, reason: str, run: str) -> QuarantineRecord:
        """Quarantine ``dut`` (keeping earlier attempts when it already was)."""
        old = self.read(dut)
        record = QuarantineRecord(
            dut=dut,
            reason=reason,
            time=time.time(),
            run=run,
            attempts=old.attempts if old else (),
        )
        self._write(record)
        return record

    def add_attempt(self, record: QuarantineRecord, run: str, result: str) -> QuarantineRecord:
        """``record`` with one more failed requalification, written back."""
        attempt = Attempt(time=time.time(), run=run, result=result)
        updated = replace(record, attempts=(*record.attempts, attempt))
        self._write(updated)
        return updated

    def lift(self, dut: str) -> bool:
        """Remove the quarantine of ``dut``; whether there was one."""
        return self._drop(dut)

    def _write(self, record: QuarantineRecord) -> None:
        self._store(record.dut, json.dumps(asdict(record), indent=2) + "\n")


class QuarantineStore(QuarantineBook):
    """The quarantine records of a lock folder."""

    def __init__(self, lock_dir: Path) -> None:
        self.lock_dir = Path(lock_dir)

    def path(self, dut: str) -> Path:
        """The record file of ``dut``, next to its ``.lock`` file."""
        return self.lock_dir / f"{lock_file_stem(dut)}.quarantine.json"

    def where(self, dut: str) -> str:
        """The record file."""
        return str(self.path(dut))

    def _text(self, dut: str) -> str | None:
        try:
            return self.path(dut).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def _store(self, dut: str, text: str) -> None:
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        path = self.path(dut)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)

    def _drop(self, dut: str) -> bool:
        try:
            self.path(dut).unlink()
        except FileNotFoundError:
            return False
        return True
