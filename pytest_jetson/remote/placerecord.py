"""The host record of ``--jetson-flash=auto`` for a DUT on a labgrid place: place tags.

A remote DUT has no lock file (the place is its lock), and the next session that flashes it may
run on another host, so the record lives on the place, where every client of the coordinator
sees it (``labgrid-client -p PLACE show`` lists it too). It is a set of tags, written in one
request: ``jetson_image`` (the image digest), ``jetson_release``, ``jetson_gcid``,
``jetson_slot``, ``jetson_kernel``, ``jetson_dtb`` (the on-device identity),
``jetson_validated`` (seconds since the epoch) and, from before a flash until its boot
validation passed, ``jetson_provisioning`` (the image digest being flashed); marking a flash
deletes the record's tags.

The coordinator takes tag keys matching ``[a-z][a-z0-9_]+`` and labgrid's own client wants
values of ``[a-z0-9_]``, so values are written in that alphabet: the release ``R36.4.3`` as
``r36_4_3``, hex digests and numbers as they are, anything else as ``x`` and its UTF-8 in hex.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from pytest_jetson.flash.record import DeviceIdentity, HostRecord

IMAGE = "jetson_image"
PROVISIONING = "jetson_provisioning"
VALIDATED = "jetson_validated"
IDENTITY = {
    "release": "jetson_release",
    "gcid": "jetson_gcid",
    "boot_slot": "jetson_slot",
    "kernel_sha256": "jetson_kernel",
    "dtb_sha256": "jetson_dtb",
}
"""Identity field → tag key."""
RECORD_TAGS = (IMAGE, VALIDATED, *IDENTITY.values())

_PLAIN = re.compile(r"[0-9a-f]+")
_RELEASE = re.compile(r"R(\d+)\.(\d+)\.(\d+)")
_RELEASE_TAG = re.compile(r"r(\d+)_(\d+)_(\d+)")
_HEX = re.compile(r"x((?:[0-9a-f]{2})*)")


class TaggedPlace(Protocol):
    """A place whose tags can be read and set (a labgrid place)."""

    def tags(self) -> dict[str, str]:
        """The place's tags."""
        ...

    def set_tags(self, changes: Mapping[str, str]) -> None:
        """Set tags in one request; an empty value deletes the tag."""
        ...


def encode(value: str) -> str:
    """``value`` in the tag alphabet (see the module docstring)."""
    release = _RELEASE.fullmatch(value)
    if release is not None:
        return "r" + "_".join(release.groups())
    if _PLAIN.fullmatch(value):
        return value
    return "x" + value.encode().hex()


def decode(tag: str) -> str:
    """The value :func:`encode` wrote; :class:`ValueError` for anything it cannot have."""
    release = _RELEASE_TAG.fullmatch(tag)
    if release is not None:
        return "R" + ".".join(release.groups())
    if _PLAIN.fullmatch(tag):
        return tag
    hexed = _HEX.fullmatch(tag)
    if hexed is not None:
        return bytes.fromhex(hexed.group(1)).decode()
    raise ValueError(f"{tag!r} is not a value pytest-jetson writes")


@dataclass(frozen=True)
class PlaceRecords:
    """The :class:`~pytest_jetson.flash.record.Records` of ``dut`` on its labgrid ``place``."""

    place: TaggedPlace
    dut: str

    def mark_provisioning(self, image_digest: str) -> None:
        """Set ``jetson_provisioning`` and delete the record's tags, in one request."""
        changes = dict.fromkeys(RECORD_TAGS, "")
        changes[PROVISIONING] = encode(image_digest)
        self.place.set_tags(changes)

    def provisioning(self) -> bool:
        """Whether ``jetson_provisioning`` is set."""
        return bool(self.place.tags().get(PROVISIONING))

    def validated(self, image_digest: str, identity: DeviceIdentity) -> HostRecord:
        """Write the record's tags and delete ``jetson_provisioning``, in one request."""
        record = HostRecord(self.dut, image_digest, identity, float(int(time.time())))
        changes = {IMAGE: encode(image_digest), VALIDATED: str(int(record.time))}
        for field, key in IDENTITY.items():
            changes[key] = encode(getattr(identity, field))
        changes[PROVISIONING] = ""
        self.place.set_tags(changes)
        return record

    def read(self) -> HostRecord | None:
        """The record on the place, None when it has none; :class:`ValueError` naming the
        tag when one is missing or not written by us."""
        tags = self.place.tags()
        if not tags.get(IMAGE):
            return None
        try:
            values = {field: decode(_tag(tags, key)) for field, key in IDENTITY.items()}
            return HostRecord(
                self.dut,
                decode(tags[IMAGE]),
                DeviceIdentity(**values),
                float(_tag(tags, VALIDATED)),
            )
        except ValueError as exc:
            raise ValueError(f"host record in the tags of DUT {self.dut}'s place: {exc}") from None


def _tag(tags: Mapping[str, str], key: str) -> str:
    value = tags.get(key)
    if not value:
        raise ValueError(f"tag {key} is missing")
    return value
