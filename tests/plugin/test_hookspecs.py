"""The hooks a bench ``conftest.py`` implements: its own inventory blocks, its USB backend,
its lock policy and the session's start and end (the simulator uses the same ones)."""

from __future__ import annotations

import pytest

RACK_BENCH = """
lock_dir: locks
duts:
  rack-dut:
    profile: orin
    rack: {slot: 7}
  plain-dut:
    profile: orin
"""

RACK_CONFTEST = r"""
from dataclasses import dataclass

import pytest

from pytest_jetson.bench import EntryBlock


@dataclass(frozen=True)
class Rack:
    slot: int


def _parse(block):
    block.allow(("slot",))
    return Rack(slot=block.opt_int("slot", minimum=1))


def pytest_jetson_entry_blocks(config):
    return [EntryBlock("rack", _parse, reserved=("rack-0",), reserved_why="is the rack itself")]


def pytest_jetson_usb_backend(config, entry):
    rack = entry.block("rack", Rack)
    return None if rack is None else f"rack-bus-{rack.slot}"


def pytest_jetson_dut_lock(config, name):
    return False if name == "rack-dut" else None


def pytest_jetson_session_start(config, names):
    (config.rootpath / "hooks.txt").write_text(f"start {names}\n")


def pytest_jetson_session_finish(config):
    with open(config.rootpath / "hooks.txt", "a") as out:
        out.write("finish\n")
"""

RACK_TEST = """
from pathlib import Path


def test_rack(jetson_entry, jetson_dut):
    print("SLOT", jetson_entry.name, jetson_dut.side.usb._backend)
    locks = sorted(p.name for p in Path("hil").glob("locks/*.lock"))
    print("LOCKS", locks)
"""


@pytest.fixture
def rack(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".yaml", **{"hil/bench": RACK_BENCH})
    pytester.makefile(
        ".yaml",
        **{
            "profiles/orin": "reference_devkit:\n  name: Devkit\n  module: {id: p3701, sku: '0000',"
            " revision: '500'}\n  carrier: {id: p3737, sku: '0000'}\n"
            "  flash_config: jetson-agx-orin-devkit.conf\n"
        },
    )
    pytester.makeconftest(RACK_CONFTEST)
    pytester.makepyfile(test_rack=RACK_TEST)
    return pytester


def test_a_bench_block_reaches_its_hooks(rack: pytest.Pytester) -> None:
    result = rack.runpytest("-s", "--dut=rack-dut")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*SLOT rack-dut rack-bus-7", "LOCKS []"])
    assert (rack.path / "hooks.txt").read_text() == "start ('rack-dut',)\nfinish\n"


def test_a_dut_without_the_block_keeps_the_defaults(rack: pytest.Pytester) -> None:
    result = rack.runpytest("-s", "--dut=plain-dut")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*SLOT plain-dut None", "LOCKS ['plain-dut.lock']"])


def test_a_bench_block_reserves_names_and_checks_its_keys(rack: pytest.Pytester) -> None:
    rack.makefile(".yaml", **{"hil/bench": "duts:\n  rack-0: {profile: orin}\n"})
    result = rack.runpytest("--dut=rack-0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*hil/bench.yaml:2: duts.rack-0: 'rack-0' is the rack itself"])
    rack.makefile(".yaml", **{"hil/bench": "duts:\n  a: {profile: orin, rack: {slot: 0}}\n"})
    result = rack.runpytest("--dut=a")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*hil/bench.yaml:2: duts.a.rack.slot: *"])
