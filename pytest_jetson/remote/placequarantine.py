"""Quarantine of a DUT on a labgrid place: a place tag, so every client of the coordinator
sees it, whichever host quarantined the DUT.

Two tags: ``jetson_quarantined`` (when, seconds since the epoch: what ``labgrid-client -p PLACE
show`` makes plain) and ``jetson_quarantine`` (the record as JSON, written in the tag alphabet
like every value of ours, see :mod:`pytest_jetson.remote.placerecord`). Reading them needs a
connection to the coordinator, never the place itself: a quarantined place is not acquired.
A DUT reserved by tags has no place before it is acquired; its record stays next to the lock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pytest_jetson.recovery.quarantine import QuarantineBook
from pytest_jetson.remote.placerecord import TaggedPlace, decode, encode
from pytest_jetson.remote.spec import LabgridSpec

QUARANTINE = "jetson_quarantine"
QUARANTINED = "jetson_quarantined"
T = TypeVar("T")


class PlaceQuarantine(QuarantineBook):
    """The quarantine records of DUTs on labgrid places (one place per DUT, by its spec)."""

    def __init__(self, spec: LabgridSpec) -> None:
        if spec.place is None:
            raise ValueError("a reservation by tags names no place")
        self.spec = spec
        self.place = spec.place

    def where(self, dut: str) -> str:
        """The tag and the place."""
        return f"(tag {QUARANTINE} of place {self.place} on {self.spec.coordinator})"

    def _text(self, dut: str) -> str | None:
        value = self._with_place(dut, lambda place: place.tags().get(QUARANTINE))
        if not value:
            return None
        try:
            return decode(value)
        except ValueError:
            return value  # not ours: read() reports it as unreadable, naming the tag

    def _store(self, dut: str, text: str) -> None:
        import json

        when = str(int(json.loads(text)["time"]))
        changes = {QUARANTINE: encode(text), QUARANTINED: when}
        self._with_place(dut, lambda place: place.set_tags(changes))

    def _drop(self, dut: str) -> bool:
        def drop(place: TaggedPlace) -> bool:
            had = bool(place.tags().get(QUARANTINE))
            place.set_tags({QUARANTINE: "", QUARANTINED: ""})
            return had

        return self._with_place(dut, drop)

    def _with_place(self, dut: str, action: Callable[[TaggedPlace], T]) -> T:
        """Run ``action`` on a coordinator connection of our own (the place is not acquired)."""
        from pytest_jetson.remote.labgrid import LabgridPlace

        place = LabgridPlace(self.spec, dut=dut)
        place.connect()
        try:
            return action(place)
        finally:
            place.release()
