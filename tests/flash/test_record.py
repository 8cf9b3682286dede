"""The host record, the provisioning marker and the skip decision of ``--jetson-flash=auto``."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pytest_jetson.flash.record import (
    DeviceIdentity,
    HostRecord,
    RecordStore,
    boot_entry_paths,
    decide,
    identity_candidate,
    parse_sha256sum,
)

IDENTITY = DeviceIdentity("R36.4.3", "38968081", "0", "a" * 64, "b" * 64)
DIGEST = "0123456789abcdef"


def record(**changes: str) -> HostRecord:
    return HostRecord("sim-orin", changes.get("image_digest", DIGEST), IDENTITY, 1.0)


def test_all_hold_skips_saying_release_and_image() -> None:
    decision = decide(marker=False, record=record(), image_digest=DIGEST, identity=IDENTITY)
    assert decision.skip
    assert decision.reason == "verified"
    assert decision.message == f"verified: R36.4.3, image {DIGEST}"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("release", "R36.4.0"),
        ("gcid", "1"),
        ("boot_slot", "1"),
        ("kernel_sha256", "c" * 64),
        ("dtb_sha256", "d" * 64),
    ],
)
def test_any_identity_field_differing_flashes(field: str, value: str) -> None:
    found = dataclasses.replace(IDENTITY, **{field: value})
    decision = decide(marker=False, record=record(), image_digest=DIGEST, identity=found)
    assert not decision.skip
    assert decision.reason == "identity-changed"
    assert f"{field}: " in decision.message and value in decision.message


def test_marker_wins_over_a_matching_record() -> None:
    decision = decide(marker=True, record=record(), image_digest=DIGEST, identity=IDENTITY)
    assert (decision.skip, decision.reason) == (False, "marker")


def test_missing_unreadable_and_changed_image_flash() -> None:
    assert decide(marker=False, record=None, image_digest=DIGEST, identity=IDENTITY).reason == (
        "no-record"
    )
    bad = decide(marker=False, record=ValueError("x: bad"), image_digest=DIGEST, identity=IDENTITY)
    assert (bad.skip, bad.reason) == (False, "record-unreadable")
    other = decide(marker=False, record=record(), image_digest="f" * 16, identity=IDENTITY)
    assert (other.skip, other.reason) == (False, "image-changed")
    assert DIGEST in other.message and "f" * 16 in other.message
    unread = decide(marker=False, record=record(), image_digest=DIGEST, identity="no FDT line")
    assert (unread.skip, unread.reason) == (False, "identity-unreadable")
    assert "no FDT line" in unread.message


def test_candidate_says_flash_before_booting_only_when_already_decided() -> None:
    assert identity_candidate(marker=False, record=record(), image_digest=DIGEST) is None
    early = identity_candidate(marker=True, record=record(), image_digest=DIGEST)
    assert early is not None and early.reason == "marker"


def test_store_marker_then_validation(tmp_path: Path) -> None:
    store = RecordStore(tmp_path / "locks", "sim orin/1")
    assert store.read() is None and not store.provisioning()
    store.validated(DIGEST, IDENTITY)
    assert store.read() == dataclasses.replace(store.read() or record(), identity=IDENTITY)
    store.mark_provisioning("f" * 16)
    assert store.provisioning()
    assert store.read() is None, "a flash that starts drops the previous record"
    stored = store.validated(DIGEST, IDENTITY)
    assert not store.provisioning()
    assert store.read() == stored
    assert store.record_path.parent == tmp_path / "locks"
    assert "/" not in store.record_path.name.removesuffix(".record.json")


def test_store_unreadable_record_names_the_file(tmp_path: Path) -> None:
    store = RecordStore(tmp_path, "sim-orin")
    store.record_path.write_text("{not json")
    with pytest.raises(ValueError, match=r"sim-orin\.record\.json"):
        store.read()


EXTLINUX = """TIMEOUT 30
DEFAULT primary

MENU TITLE L4T boot options

LABEL backup
      LINUX /boot/Image.bak
      FDT /boot/dtb/old.dtb

LABEL primary
      MENU LABEL primary kernel
      LINUX /boot/Image
      FDT /boot/dtb/kernel_tegra234-p3737-0000+p3701-0000-nv.dtb
      INITRD /boot/initrd
"""


def test_boot_entry_paths_of_the_default_label() -> None:
    assert boot_entry_paths(EXTLINUX) == (
        "/boot/Image",
        "/boot/dtb/kernel_tegra234-p3737-0000+p3701-0000-nv.dtb",
    )
    assert boot_entry_paths("DEFAULT x\nLABEL x\n LINUX /boot/Image\n") == ("/boot/Image", None)


def test_parse_sha256sum() -> None:
    text = f"{'a' * 64}  /boot/Image\n{'b' * 64} */boot/dtb/x.dtb\nsha256sum: y: No such file\n"
    assert parse_sha256sum(text) == {"/boot/Image": "a" * 64, "/boot/dtb/x.dtb": "b" * 64}
