"""The inventory's ``labgrid:`` block (no labgrid needed)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from pytest_jetson.errors import InventoryError
from pytest_jetson.remote.spec import LabgridSpec, ResourceNames, parse_labgrid
from pytest_jetson.yamlfile import read_mapping


def parse(tmp_path: Path, block: str) -> LabgridSpec | None:
    path = tmp_path / "bench.yaml"
    path.write_text("orin-03:\n  profile: x\n" + block)
    return parse_labgrid(read_mapping(path, error=InventoryError, what="bench").map("orin-03"))


def test_full_block(tmp_path: Path) -> None:
    spec = parse(
        tmp_path,
        "  labgrid:\n    coordinator: lab\n    place: orin-03\n    lft: /srv/L4T\n"
        "    names: {console: uart, topo: topo}\n    lock_wait_s: 0\n",
    )
    assert spec == LabgridSpec(
        coordinator="lab:20408",
        lft=PurePosixPath("/srv/L4T"),
        place="orin-03",
        names=ResourceNames(console="uart", rcm="rcm", topo="topo"),
        lock_wait_s=0.0,
    )
    assert spec.target == "place orin-03"


def test_reservation_by_tags(tmp_path: Path) -> None:
    spec = parse(
        tmp_path,
        "  labgrid:\n    coordinator: 10.0.0.5:2000\n    reserve: {tags: {board: agx, rack: r2}}\n"
        "    lft: /srv/L4T\n",
    )
    assert spec is not None
    assert spec.place is None and spec.reserve_tags == (("board", "agx"), ("rack", "r2"))
    assert spec.target == "a place tagged board=agx, rack=r2"


def test_absent_block(tmp_path: Path) -> None:
    assert parse(tmp_path, "") is None


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("    place: a\n    reserve: {tags: {board: x}}\n    lft: /l\n", "exactly one of"),
        ("    lft: /l\n", "exactly one of"),
        ("    place: a\n    lft: relative/L4T\n", "absolute path on the bench host"),
        ("    reserve: {tags: {Board: x}}\n    lft: /l\n", "invalid tag name"),
        ("    place: a\n    lft: /l\n    lock_wait_s: -1\n", "seconds >= 0"),
        ("    place: a\n    lft: /l\n    names: {serial: x}\n", "serial"),
    ],
)
def test_errors_name_the_key(tmp_path: Path, block: str, message: str) -> None:
    with pytest.raises(InventoryError, match=message) as info:
        parse(tmp_path, "  labgrid:\n    coordinator: lab\n" + block)
    assert "orin-03.labgrid" in str(info.value)
