"""The DUT state store: atomic JSON, locked read-modify-write across processes."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

from pytest_jetson.sim.boards import BOARDS
from pytest_jetson.sim.host import initial_state
from pytest_jetson.sim.state import (
    StateStore,
    check_password,
    hash_password,
    host_state_dirs,
    power_cycle,
)

BUMP = """
import dataclasses, sys
from pathlib import Path
from pytest_jetson.sim.state import StateStore
store = StateStore(Path(sys.argv[1]))
for _ in range(40):
    store.update(lambda s: dataclasses.replace(s, boot_seq=s.boot_seq + 1))
"""


def _store(tmp_path: Path, name: str = "d1") -> StateStore:
    state_dir = tmp_path / "duts" / name
    board = BOARDS["thor-agx"]
    store = StateStore(state_dir)
    store.write(initial_state(name, board, "R38.4.0", "1-4", state_dir / "ttyACM0"))
    return store


def test_state_round_trips_with_nested_records(tmp_path: Path) -> None:
    store = _store(tmp_path)
    state = store.read()
    assert state.eeprom == BOARDS["thor-agx"].eeprom
    assert state.flashed is not None and state.flashed.release == "R38.2.0"
    assert state.port_numbers == (4,)
    changed = store.replace(mode="recovery", faults=("flash_fail",))
    assert store.read() == changed
    assert changed.in_rcm and changed.has_fault("flash_fail")


def test_concurrent_updates_from_processes_are_not_lost(tmp_path: Path) -> None:
    store = _store(tmp_path)
    procs = [subprocess.Popen([sys.executable, "-c", BUMP, str(store.state_dir)]) for _ in range(3)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    assert store.read().boot_seq == 120


def test_power_cycle_counts_boots_and_replugs_usb(tmp_path: Path) -> None:
    state = dataclasses.replace(_store(tmp_path).read(), mode="recovery", usb_dropped=True)
    assert not state.in_rcm
    back = power_cycle(state, "recovery")
    assert back.in_rcm and back.boot_seq == state.boot_seq
    assert power_cycle(state, "on").boot_seq == state.boot_seq + 1


def test_password_hash_never_contains_the_password() -> None:
    hashed = hash_password("s3cret-pw")
    assert "s3cret-pw" not in hashed
    assert check_password("s3cret-pw", hashed)
    assert not check_password("wrong", hashed)
    assert not check_password("s3cret-pw", "!")


def test_host_lists_its_duts(tmp_path: Path) -> None:
    _store(tmp_path, "b")
    _store(tmp_path, "a")
    assert [p.name for p in host_state_dirs(tmp_path)] == ["a", "b"]
    assert host_state_dirs(tmp_path / "nowhere") == []
