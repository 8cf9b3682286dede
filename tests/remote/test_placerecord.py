"""The host record of ``--jetson-flash=auto`` kept in a labgrid place's tags."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_jetson.flash.record import DeviceIdentity
from pytest_jetson.remote.labgrid import LabgridPlace
from pytest_jetson.remote.placerecord import PlaceRecords, decode, encode

from .conftest import DUT, Rig

IDENTITY = DeviceIdentity("R36.4.3", "38968081", "0", "ab" * 32, "cd" * 32)


@pytest.mark.parametrize(
    ("value", "tag"),
    [
        ("R36.4.3", "r36_4_3"),
        ("R38.4.0", "r38_4_0"),
        ("38968081", "38968081"),
        ("0", "0"),
        ("ab" * 32, "ab" * 32),
        ("R36.4", "x5233362e34"),
        ("", "x"),
    ],
)
def test_values_are_written_in_the_tag_alphabet(value: str, tag: str) -> None:
    assert encode(value) == tag
    assert decode(tag) == value


@pytest.mark.parametrize("tag", ["R36.4.3", "xyz", "ABC", "x0"])
def test_a_tag_we_did_not_write_is_refused(tag: str) -> None:
    with pytest.raises(ValueError, match="not a value pytest-jetson writes"):
        decode(tag)


@pytest.fixture
def held(rig: Rig) -> Iterator[LabgridPlace]:
    place = LabgridPlace(rig.spec(), dut=DUT)
    place.acquire()
    yield place
    place.release()


def test_the_record_lives_on_the_place_for_every_client(rig: Rig, held: LabgridPlace) -> None:
    records = PlaceRecords(held, DUT)
    records.mark_provisioning("0123456789abcdef")
    assert records.provisioning() and records.read() is None
    shown = rig.bench.client("show", place=DUT)  # type: ignore[attr-defined]
    assert "jetson_provisioning=0123456789abcdef" in shown, shown

    written = records.validated("0123456789abcdef", IDENTITY)
    assert not records.provisioning()
    # Another client of the coordinator reads the same record.
    other = LabgridPlace(rig.spec(), dut=DUT, identity=("elsewhere", "ci+other"))
    other.connect()
    try:
        assert PlaceRecords(other, DUT).read() == written
    finally:
        other.release()
    shown = rig.bench.client("show", place=DUT)  # type: ignore[attr-defined]
    assert "jetson_release=r36_4_3" in shown and "jetson_provisioning" not in shown, shown

    # The next flash drops the record with the marker it sets.
    records.mark_provisioning("fedcba9876543210")
    assert records.read() is None and records.provisioning()
    held.set_tags({"jetson_provisioning": ""})


def test_a_damaged_record_names_the_tag(held: LabgridPlace) -> None:
    records = PlaceRecords(held, DUT)
    records.validated("0123456789abcdef", IDENTITY)
    held.set_tags({"jetson_dtb": ""})
    with pytest.raises(ValueError, match="tag jetson_dtb is missing"):
        records.read()
    records.mark_provisioning("0")
    held.set_tags({"jetson_provisioning": ""})
