"""The image digest: what lands on the board, tree contents included.

The plan's fields that land on the board (tree path and release, conf, EEPROM identity, boot
device, flow tool and its argv without the bench-only ``--usb-instance``, its ``NAME=value``
words, the default-user staging) plus a content hash of the tree's files the conf names: the
BCT sources (``*.dts``/``*.dtsi``/``*.cfg`` the MB1/MB2 BCT keys name), the DTBs and overlays
(``DTB_FILE``, ``TBCDTB_FILE``, ``BPFDTB_FILE``, ``OVERLAY_DTB_FILE``) and ``kernel/Image``. A
changed BCT, DTB or kernel in the same tree therefore changes the digest, though the release
string does not. Files flash.sh generates (``bootloader/signed``, compiled ``*.dtb.*``) are not
hashed: only sources the conf names, looked up where the tree ships them (``kernel/dtb`` first
for DTBs, then ``bootloader/generic/BCT``, ``bootloader/t186ref/BCT``, ``bootloader``).

Helper ``flash-truth`` adds an ``image_digest`` to the Plan itself; this one is computed the same
way plus the tree contents, to be reconciled with it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path

from pytest_jetson.flash.plan import DIGEST_LENGTH, Plan

BENCH_ONLY_OPTIONS = frozenset({"--usb-instance"})
"""Flow-tool options that say where the board sits, not what lands on it (they take a value)."""

_FILE_VALUE = re.compile(r"^[\w.+-]+\.(dtb|dtbo|dts|dtsi|cfg)$")
_SEARCH = ("kernel/dtb", "bootloader/generic/BCT", "bootloader/t186ref/BCT", "bootloader")


def image_argv(argv: tuple[str, ...]) -> tuple[str, ...]:
    """``argv`` without the bench-only options and their values."""
    kept: list[str] = []
    skip = False
    for word in argv:
        if skip:
            skip = False
            continue
        if word in BENCH_ONLY_OPTIONS:
            skip = True
            continue
        if word.split("=", 1)[0] in BENCH_ONLY_OPTIONS:
            continue
        kept.append(word)
    return tuple(kept)


def conf_files(conf: Mapping[str, str]) -> tuple[str, ...]:
    """The file names the conf's values name (comma-separated lists split), sorted."""
    names = set()
    for value in conf.values():
        for part in value.split(","):
            if _FILE_VALUE.match(part.strip()):
                names.add(part.strip())
    return tuple(sorted(names))


def tree_contents(lft: Path, conf: Mapping[str, str]) -> dict[str, str]:
    """``{relative path or name: sha256}`` of ``kernel/Image`` and every file the conf names
    (``missing`` for a name found nowhere in the tree)."""
    found: dict[str, str] = {}
    for name in ("kernel/Image", *conf_files(conf)):
        path = _locate(lft, name)
        key = str(path.relative_to(lft)) if path is not None else name
        found[key] = _sha256(path) if path is not None else "missing"
    return found


def image_digest(plan: Plan, lft: Path, conf: Mapping[str, str]) -> str:
    """The digest of what lands on the board (see the module docstring)."""
    fields = {
        "target": plan.target,
        "lft": plan.lft,
        "version": plan.version,
        "flash_conf": plan.flash_conf,
        "eeprom": dict(plan.eeprom),
        "boot_device": plan.boot_device,
        "flow_tool": plan.flow_tool,
        "argv": list(image_argv(plan.argv)),
        "tool_env": dict(plan.tool_env),
        "default_user": plan.default_user,
        "tree": tree_contents(lft, conf),
    }
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:DIGEST_LENGTH]


def _locate(lft: Path, name: str) -> Path | None:
    if "/" in name:
        path = lft / name
        return path if path.is_file() else None
    for folder in _SEARCH:
        path = lft / folder / name
        if path.is_file():
            return path
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
