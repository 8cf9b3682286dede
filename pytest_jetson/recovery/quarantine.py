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


class QuarantineStore:
    """The quarantine records of a lock folder."""

    def __init__(self, lock_dir: Path) -> None:
        self.lock_dir = Path(lock_dir)

    def path(self, dut: str) -> Path:
        """The record file of ``dut``, next to its ``.lock`` file."""
        return self.lock_dir / f"{lock_file_stem(dut)}.quarantine.json"

    def read(self, dut: str) -> QuarantineRecord | None:
        """The record of ``dut``, or None when it is not quarantined (or the file is not a
        record: a broken file never blocks a DUT silently, it is reported by :meth:`check`)."""
        path = self.path(dut)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            attempts = tuple(Attempt(**a) for a in data.pop("attempts", ()))
            return QuarantineRecord(**data, attempts=attempts)
        except FileNotFoundError:
            return None
        except (ValueError, TypeError) as exc:
            raise Quarantined(f"DUT {dut}: unreadable quarantine record {path}: {exc}") from None

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
        try:
            self.path(dut).unlink()
        except FileNotFoundError:
            return False
        return True

    def _write(self, record: QuarantineRecord) -> None:
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        path = self.path(record.dut)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(asdict(record), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
