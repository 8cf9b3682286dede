"""Whether a reflash can be skipped (``--jetson-flash=auto``): the host record, the
provisioning marker, the on-device identity and the one decision over them.

Version strings alone do not tell a board needs no reflash: ``/etc/nv_tegra_release`` and the
boot slot stay the same when a DTB, a BCT or the kernel Image changes, and what sits in QSPI
(MB1/MB2 BCTs, the BPMP DTB) cannot be read from the rootfs at all. So a skip needs all of:

* no provisioning marker: it is written before every flash and only a passed boot validation
  removes it, so an interrupted or failed flash is never taken for a good one;
* a host record whose image digest equals the plan's: the record is written after a flash whose
  boot validation passed, and the image digest covers the tree's files that land on the board
  (BCTs, DTBs, the kernel Image), so a changed tree never matches;
* the booted board's identity (release and GCID, boot slot, hashes of the kernel Image and DTB
  it booted) equals the recorded one: a board reflashed by hand, outside the product, differs.

Anything missing, unreadable or different means "flash", with the reason said. Nothing here
imports pytest or touches the board: the flow reads the identity over the shell.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal, Protocol

from pytest_jetson.host.lock import lock_file_stem

Reason = Literal[
    "verified",
    "marker",
    "no-record",
    "record-unreadable",
    "image-changed",
    "identity-unreadable",
    "identity-changed",
]
"""Why the decision went the way it did (``verified`` is the only skip)."""


@dataclass(frozen=True)
class DeviceIdentity:
    """What the booted board says it runs."""

    release: str
    """``R36.4.3``."""
    gcid: str
    """The build id from ``/etc/nv_tegra_release`` (``GCID: 38968081``)."""
    boot_slot: str
    """``nvbootctrl get-current-slot``: ``0`` (A) or ``1`` (B)."""
    kernel_sha256: str
    """SHA-256 of the kernel Image the boot entry (extlinux ``LINUX``) names."""
    dtb_sha256: str
    """SHA-256 of the DTB the boot entry (extlinux ``FDT``) names."""

    def differences(self, other: DeviceIdentity) -> list[str]:
        """The fields that differ, as ``name: recorded → found`` (``self`` is the record)."""
        found = []
        for name, value in asdict(self).items():
            now = getattr(other, name)
            if value != now:
                found.append(f"{name}: {value} → {now}")
        return found


@dataclass(frozen=True)
class HostRecord:
    """What the host knows of a DUT it flashed and saw boot: the image and the identity."""

    dut: str
    image_digest: str
    identity: DeviceIdentity
    time: float


@dataclass(frozen=True)
class Decision:
    """Flash or skip, and why (the summary and the step report show ``message``)."""

    skip: bool
    reason: Reason
    message: str


class Records(Protocol):
    """Where a DUT's host record and provisioning marker live: next to its lock file for a DUT
    wired to this host (:class:`RecordStore`), on the labgrid place for a remote one (place
    tags, so every client of the coordinator sees them)."""

    def mark_provisioning(self, image_digest: str) -> None:
        """Write the marker (before the flow tool runs) and drop the now stale record."""
        ...

    def provisioning(self) -> bool:
        """Whether a flash started and no boot validation passed since."""
        ...

    def validated(self, image_digest: str, identity: DeviceIdentity) -> HostRecord:
        """A boot validation passed: store the record, then clear the marker."""
        ...

    def read(self) -> HostRecord | None:
        """The record, None when there is none; :class:`ValueError` saying where when it
        cannot be read as one."""
        ...


@dataclass(frozen=True)
class RecordStore:
    """A DUT's host record and provisioning marker, next to its lock in ``lock_dir``."""

    lock_dir: Path
    dut: str

    @property
    def record_path(self) -> Path:
        """``<lock_dir>/<dut>.record.json``."""
        return self.lock_dir / f"{lock_file_stem(self.dut)}.record.json"

    @property
    def marker_path(self) -> Path:
        """``<lock_dir>/<dut>.provisioning``: present from before a flash until its boot passed."""
        return self.lock_dir / f"{lock_file_stem(self.dut)}.provisioning"

    def mark_provisioning(self, image_digest: str) -> None:
        """Write the marker (before the flow tool runs) and drop the now stale record."""
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        _write_atomic(self.marker_path, f"{image_digest} {time.time():.0f}\n")
        self.record_path.unlink(missing_ok=True)

    def provisioning(self) -> bool:
        """Whether a flash started and no boot validation passed since."""
        return self.marker_path.exists()

    def validated(self, image_digest: str, identity: DeviceIdentity) -> HostRecord:
        """A boot validation passed: store the record, then clear the marker."""
        record = HostRecord(self.dut, image_digest, identity, time.time())
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        _write_atomic(self.record_path, json.dumps(asdict(record), indent=1, sort_keys=True))
        self.marker_path.unlink(missing_ok=True)
        return record

    def read(self) -> HostRecord | None:
        """The record, or None when there is none; :class:`ValueError` naming the file when
        it cannot be read as one."""
        try:
            text = self.record_path.read_text()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ValueError(f"{self.record_path}: {exc.strerror}") from None
        try:
            data = json.loads(text)
            identity = DeviceIdentity(**data["identity"])
            return HostRecord(data["dut"], data["image_digest"], identity, float(data["time"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{self.record_path}: not a host record ({exc})") from None


def decide(
    *,
    marker: bool,
    record: HostRecord | ValueError | None,
    image_digest: str,
    identity: DeviceIdentity | str | None,
) -> Decision:
    """Skip the flash only when the marker is absent, the record's image digest is the plan's
    and the booted board's identity is the recorded one.

    ``record`` is a :class:`ValueError` when the record could not be read; ``identity`` is a
    string (why) when the board's identity could not be read, None when it was not read (the
    earlier conditions already failed).
    """
    if marker:
        return Decision(
            False, "marker", "the previous flash did not end in a passed boot validation"
        )
    if isinstance(record, ValueError):
        return Decision(False, "record-unreadable", f"host record unreadable: {record}")
    if record is None:
        return Decision(False, "no-record", "no host record of a validated flash of this DUT")
    if record.image_digest != image_digest:
        return Decision(
            False,
            "image-changed",
            f"the image changed: recorded {record.image_digest}, plan {image_digest}",
        )
    if identity is None or isinstance(identity, str):
        why = identity or "not read"
        return Decision(False, "identity-unreadable", f"on-device identity unreadable: {why}")
    changed = record.identity.differences(identity)
    if changed:
        return Decision(
            False,
            "identity-changed",
            "the board does not run the recorded image (reflashed outside the product?): "
            + "; ".join(changed),
        )
    return Decision(True, "verified", f"verified: {identity.release}, image {image_digest}")


def identity_candidate(
    *, marker: bool, record: HostRecord | ValueError | None, image_digest: str
) -> Decision | None:
    """The decision when it is already "flash" before the board is booted and read (no need
    to boot it), else None: the identity decides."""
    early = decide(marker=marker, record=record, image_digest=image_digest, identity=None)
    return early if early.reason != "identity-unreadable" else None


_SHA_LINE = re.compile(r"^([0-9a-f]{64})\s+\*?(\S+)$", re.MULTILINE)


def boot_entry_paths(extlinux: str) -> tuple[str, str | None]:
    """The kernel Image and DTB the default boot entry of ``extlinux.conf`` names
    (``LINUX``/``FDT`` of the ``DEFAULT`` label; ``FDT`` may be absent: then None)."""
    default = re.search(r"^\s*DEFAULT\s+(\S+)", extlinux, re.MULTILINE)
    labels = re.split(r"^\s*LABEL\s+", extlinux, flags=re.MULTILINE)[1:]
    entry = next(
        (b for b in labels if default is None or b.split(None, 1)[0] == default.group(1)),
        "",
    )
    linux = re.search(r"^\s*LINUX\s+(\S+)", entry, re.MULTILINE)
    fdt = re.search(r"^\s*FDT\s+(\S+)", entry, re.MULTILINE)
    return (linux.group(1) if linux else "/boot/Image"), (fdt.group(1) if fdt else None)


def parse_sha256sum(text: str) -> dict[str, str]:
    """``sha256sum`` output → {path: hex digest}."""
    return {m.group(2): m.group(1) for m in _SHA_LINE.finditer(text)}


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
