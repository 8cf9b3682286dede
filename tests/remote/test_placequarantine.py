"""Quarantine of a remote DUT as a tag of its labgrid place."""

from __future__ import annotations

import pytest

from pytest_jetson.recovery.quarantine import Quarantined
from pytest_jetson.remote.placequarantine import PlaceQuarantine
from tests.helpers import HIL_TEST

from .conftest import DUT, Rig
from .test_session import args


def show(rig: Rig) -> str:
    return str(rig.bench.client("show", place=DUT))  # type: ignore[attr-defined]


def test_every_client_sees_it_and_the_place_is_never_acquired(rig: Rig) -> None:
    book = PlaceQuarantine(rig.spec())
    record = book.put(DUT, "recovery ladder ran out: console silent", "ci-job-7")
    try:
        assert "jetson_quarantined=" in show(rig) and "acquired: None" in show(rig)
        other = PlaceQuarantine(rig.spec())  # another host's session
        assert other.read(DUT) == record
        with pytest.raises(Quarantined, match=r"console silent.*requalify orin-03"):
            other.check(DUT)
        again = other.add_attempt(record, "ci-job-8", "mb1: console silent")
        assert book.read(DUT) == again and len(again.attempts) == 1
    finally:
        assert book.lift(DUT)
    assert book.read(DUT) is None and not book.lift(DUT)
    assert "jetson_quarantine" not in show(rig)


def test_a_session_reports_a_quarantined_place_without_taking_it(
    pytester: pytest.Pytester, rig: Rig
) -> None:
    book = PlaceQuarantine(rig.spec())
    book.put(DUT, "recovery ladder ran out: never came back", "ci-job-9")
    pytester.makepyfile(test_hil=HIL_TEST)
    try:
        result = pytester.runpytest_subprocess(*args(pytester, rig), "test_hil.py", timeout=120)
        assert "acquired: None" in show(rig)
    finally:
        book.lift(DUT)
    out = result.stdout.str()
    result.assert_outcomes(errors=1)
    assert "DUT orin-03 is quarantined since" in out and "never came back" in out, out
    assert not list((pytester.path / "locks").iterdir())
