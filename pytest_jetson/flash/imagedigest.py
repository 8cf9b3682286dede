"""The image digest: what lands on the board, tree contents included.

The plan's fields that land on the board (tree path and release, conf, EEPROM identity, boot
device, flow tool and its argv without the bench-only ``--usb-instance``, its ``NAME=value``
words, the user staged in the rootfs) plus a content hash of the tree's files the conf names: the
BCT sources (``*.dts``/``*.dtsi``/``*.cfg`` the MB1/MB2 BCT keys name), the DTBs and overlays
(``DTB_FILE``, ``TBCDTB_FILE``, ``BPFDTB_FILE``, ``OVERLAY_DTB_FILE``) and ``kernel/Image``. A
changed BCT, DTB or kernel in the same tree therefore changes the digest, though the release
string does not. Files flash.sh generates (``bootloader/signed``, compiled ``*.dtb.*``) are not
hashed: only sources the conf names, looked up where the tree ships them (``kernel/dtb`` first
for DTBs, then ``bootloader/generic/BCT``, ``bootloader/t186ref/BCT``, ``bootloader``).

It extends :attr:`~pytest_jetson.flash.plan.Plan.image_digest` (the plan's fields) with the
tree contents; the host record of ``--jetson-flash=auto`` stores this one.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from pytest_jetson.drivers.side import file_digests
from pytest_jetson.flash.plan import DIGEST_LENGTH, Plan

_FILE_VALUE = re.compile(r"^[\w.+-]+\.(dtb|dtbo|dts|dtsi|cfg)$")
_SEARCH = ("kernel/dtb", "bootloader/generic/BCT", "bootloader/t186ref/BCT", "bootloader")


def conf_files(values: Iterable[str]) -> tuple[str, ...]:
    """The file names ``values`` name (comma-separated lists split), sorted."""
    names = set()
    for value in values:
        for part in value.split(","):
            if _FILE_VALUE.match(part.strip()):
                names.add(part.strip())
    return tuple(sorted(names))


def chain_values(lft: Path, conf_name: str) -> list[str]:
    """Every literal value assigned in the conf chain of ``conf_name`` (``MB2_BCT``,
    ``MISC_CONFIG``, ... for every SKU it dispatches: a superset only makes the digest
    stricter); none when the chain cannot be read (the plan step refuses such a conf)."""
    from pytest_jetson.errors import ConfigError
    from pytest_jetson.lft.scan import variable_assignments

    try:
        found = variable_assignments(lft, conf_name)
    except (ConfigError, OSError):
        return []
    return [a.value for items in found.values() for a in items if "$" not in a.value]


Digests = Callable[[Sequence[str]], Mapping[str, str]]
"""SHA-256 of files of the tree, by path relative to it, read where the tree is (the bench
side's :meth:`~pytest_jetson.drivers.side.BenchSide.file_digests`)."""


def tree_contents(
    lft: Path, conf: Mapping[str, str], conf_name: str = "", *, digests: Digests | None = None
) -> dict[str, str]:
    """``{relative path or name: sha256}`` of ``kernel/Image`` and every file the evaluated
    ``conf`` or the conf chain names (``missing`` for a name found nowhere in the tree).

    Names are looked up in ``lft`` (a remote tree's view holds every name); the contents are
    hashed by ``digests`` where the tree is (default: here, in ``lft``), since a view's files
    are placeholders.
    """
    values = [*conf.values(), *(chain_values(lft, conf_name) if conf_name else [])]
    located: dict[str, str | None] = {}
    for name in ("kernel/Image", *conf_files(values)):
        path = _locate(lft, name)
        located[name] = str(path.relative_to(lft)) if path is not None else None
    present = sorted({rel for rel in located.values() if rel is not None})
    sums = digests(present) if digests is not None else file_digests(lft, present)
    found: dict[str, str] = {}
    for name, rel in located.items():
        found[rel or name] = sums.get(rel, "missing") if rel is not None else "missing"
    return found


def image_digest(
    plan: Plan, lft: Path, conf: Mapping[str, str], *, digests: Digests | None = None
) -> str:
    """The plan's image digest (:attr:`Plan.image_digest`: what lands on the board) with the
    user staged in the rootfs instead of the plan's wording, plus the tree contents (hashed
    by ``digests`` where the tree is, see :func:`tree_contents`)."""
    fields = dict(plan.image_fields())
    fields["default_user"] = _rootfs_user(lft)
    fields["tree"] = tree_contents(lft, conf, plan.flash_conf, digests=digests)
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:DIGEST_LENGTH]


def _rootfs_user(lft: Path) -> str:
    """The user staged in the tree's rootfs (what lands on the board), not the plan's wording
    of the staging step: a user staged by the previous session reads "already staged (kept)"
    in the plan, yet the same user lands on the board."""
    from pytest_jetson.drivers.defaultuser import staged_user

    return staged_user(lft / "rootfs") or "(none: first-boot wizard)"


def _locate(lft: Path, name: str) -> Path | None:
    if "/" in name:
        path = lft / name
        return path if path.is_file() else None
    for folder in _SEARCH:
        path = lft / folder / name
        if path.is_file():
            return path
    return None
