"""The quarantine store: a record next to the DUT's lock, read by every later session."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_jetson.recovery.quarantine import Quarantined, QuarantineStore


def test_a_record_sits_next_to_the_lock_and_blocks_the_dut(tmp_path: Path) -> None:
    store = QuarantineStore(tmp_path)
    assert store.read("orin-01") is None
    store.check("orin-01")  # not quarantined: no error
    store.put("orin-01", "recovery ladder ran out", "run 1")
    assert store.path("orin-01") == tmp_path / "orin-01.quarantine.json"
    with pytest.raises(Quarantined, match=r"DUT orin-01 is quarantined since .* by run 1: "
                       r"recovery ladder ran out .*requalify orin-01"):  # fmt: skip
        store.check("orin-01")


def test_failed_requalifications_are_kept_and_a_lift_removes_the_record(tmp_path: Path) -> None:
    store = QuarantineStore(tmp_path)
    record = store.put("orin-01", "dead", "run 1")
    store.add_attempt(record, "run 2", "no login")
    again = store.read("orin-01")
    assert again is not None
    assert [(a.run, a.result) for a in again.attempts] == [("run 2", "no login")]
    assert "1 requalification(s) failed" in again.describe()
    assert store.lift("orin-01") and not store.lift("orin-01")
    assert store.read("orin-01") is None


def test_an_unreadable_record_is_reported_not_ignored(tmp_path: Path) -> None:
    store = QuarantineStore(tmp_path)
    store.path("orin-01").write_text("{not json")
    with pytest.raises(Quarantined, match="unreadable quarantine record"):
        store.check("orin-01")
