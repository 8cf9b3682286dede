"""A minimal flattened-device-tree (DTB) writer for the simulated kernel and BPMP DTBs.

Only what readers of a real DTB look at is written: a root node with string properties
(``model``, ``compatible``) and optional child nodes. The blob is a valid FDT v17.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence

_MAGIC = 0xD00DFEED
_BEGIN_NODE, _END_NODE, _PROP, _END = 1, 2, 3, 9

PropValue = str | Sequence[str] | bytes


def _pad4(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def _encode(value: PropValue) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode() + b"\0"
    return b"".join(v.encode() + b"\0" for v in value)


class _Builder:
    def __init__(self) -> None:
        self.struct = bytearray()
        self.strings = bytearray()
        self.offsets: dict[str, int] = {}

    def name_offset(self, name: str) -> int:
        if name not in self.offsets:
            self.offsets[name] = len(self.strings)
            self.strings += name.encode() + b"\0"
        return self.offsets[name]

    def node(self, name: str, props: Mapping[str, PropValue], children: Mapping[str, Node]) -> None:
        self.struct += struct.pack(">I", _BEGIN_NODE) + _pad4(name.encode() + b"\0")
        for key, value in props.items():
            data = _encode(value)
            self.struct += struct.pack(">III", _PROP, len(data), self.name_offset(key))
            self.struct += _pad4(data)
        for child_name, child in children.items():
            self.node(child_name, child.props, child.children)
        self.struct += struct.pack(">I", _END_NODE)


class Node:
    """A device-tree node: properties and named children."""

    def __init__(
        self,
        props: Mapping[str, PropValue] | None = None,
        children: Mapping[str, Node] | None = None,
    ) -> None:
        self.props: Mapping[str, PropValue] = props or {}
        self.children: Mapping[str, Node] = children or {}


def build_dtb(root: Node) -> bytes:
    """Serialise ``root`` as a DTB blob."""
    builder = _Builder()
    builder.node("", root.props, root.children)
    builder.struct += struct.pack(">I", _END)
    header_size = 40
    rsvmap_off = header_size
    struct_off = rsvmap_off + 16
    strings_off = struct_off + len(builder.struct)
    total = strings_off + len(builder.strings)
    header = struct.pack(
        ">10I",
        _MAGIC,
        total,
        struct_off,
        strings_off,
        rsvmap_off,
        17,
        16,
        0,
        len(builder.strings),
        len(builder.struct),
    )
    return header + b"\0" * 16 + bytes(builder.struct) + bytes(builder.strings)


def read_root_strings(blob: bytes) -> dict[str, list[str]]:
    """The root node's string properties of a DTB blob (``model``, ``compatible``...)."""
    magic, _total, struct_off, strings_off = struct.unpack_from(">4I", blob, 0)
    if magic != _MAGIC:
        raise ValueError("not a flattened device tree (bad magic)")
    pos = struct_off
    depth = 0
    found: dict[str, list[str]] = {}
    while True:
        (token,) = struct.unpack_from(">I", blob, pos)
        pos += 4
        if token == _BEGIN_NODE:
            end = blob.index(b"\0", pos)
            pos += (end - pos + 1 + 3) & ~3
            depth += 1
        elif token == _END_NODE:
            depth -= 1
        elif token == _PROP:
            length, nameoff = struct.unpack_from(">II", blob, pos)
            pos += 8
            data = blob[pos : pos + length]
            pos += (length + 3) & ~3
            if depth == 1:
                name_end = blob.index(b"\0", strings_off + nameoff)
                name = blob[strings_off + nameoff : name_end].decode()
                found[name] = [s.decode() for s in data.split(b"\0")[:-1]]
        elif token == _END:
            return found
