"""The simulated combined UART: seeded interleaving on every board, heavy under tcu_garble."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from pytest_jetson.console.tcu import tolerant
from pytest_jetson.sim.boards import BOARDS
from pytest_jetson.sim.bootlog import boot_script
from pytest_jetson.sim.host import initial_state
from pytest_jetson.sim.state import DutState, StagedUser
from pytest_jetson.sim.tcu import CCPLEX, STREAMS, WRAP, boot_bytes, demux


def booted(board: str, *faults: str, seed: int = 0) -> DutState:
    """A DUT of ``board`` flashed with a staged user, as the console plays its boot."""
    sim = BOARDS[board]
    state = initial_state("d", sim, sim.releases[-1], "1-4", Path("/nonexistent"), faults=faults)
    flashed = dataclasses.replace(state.flashed, user=StagedUser("qa", "x", ()))
    return dataclasses.replace(state, flashed=flashed, tcu_seed=seed)


@pytest.mark.parametrize("board", sorted(BOARDS))
def test_every_board_interleaves_the_same_bytes_for_the_same_seed(board: str) -> None:
    first = boot_bytes(booted(board, seed=5))
    assert first == boot_bytes(booted(board, seed=5))
    assert first != boot_bytes(booted(board, seed=6))
    assert first.startswith(b"[0000.")  # MB1 is untagged
    assert b"\xff\xe1" in first
    others = demux(first)
    assert set(others) - {CCPLEX} <= set(STREAMS.values())
    assert len(others) > 1, "no other processor's text spliced in"


@pytest.mark.parametrize("board", sorted(BOARDS))
def test_demuxing_gives_back_every_line_of_the_boot_log(board: str) -> None:
    state = booted(board, seed=3)
    ccplex = demux(boot_bytes(state))[CCPLEX]
    for event in boot_script(state):
        if event.kind == "line":
            text = event.text.encode()
            assert text[:WRAP] in ccplex, text  # UEFI lines wrap at 80 columns


@pytest.mark.parametrize(
    ("board", "lost"),
    [
        pytest.param("orin-agx", ("I> MB2 (", "UEFI firmware (version "), id="orin-agx"),
        pytest.param("orin-nano", ("I> MB2 (", "UEFI firmware (version "), id="orin-nano"),
        pytest.param("thor-agx", ("UEFI firmware (version ",), id="thor-agx"),
    ],
)
def test_tcu_garble_loses_the_banners_but_keeps_the_prompt(board: str, lost: tuple[str]) -> None:
    light = boot_bytes(booted(board))
    heavy = boot_bytes(booted(board, "tcu_garble"))
    for marker in lost:
        assert re.search(tolerant(marker), light), marker
        assert not re.search(tolerant(marker), heavy), marker
    assert re.search(rb"\S+" + tolerant(" login:"), heavy)
    assert _spliced(heavy) > 3 * _spliced(light)


def _spliced(data: bytes) -> int:
    """Bytes of BPMP, SPE, RCE and DCE text (OP-TEE's alternates with UEFI on Thor anyway)."""
    skip = (CCPLEX, STREAMS["tz"])
    return sum(len(text) for stream, text in demux(data).items() if stream not in skip)
