"""The simulator is a plugin of its own (entry point ``jetson_sim``): it plugs in through the
``pytest_jetson_*`` hooks, and ``-p no:jetson_sim`` leaves pytest-jetson without it."""

from __future__ import annotations

import pytest

SIM_BENCH = """
duts:
  my-sim:
    sim: {board: orin-agx}
"""


def test_the_simulator_registers_as_its_own_plugin(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
def pytest_configure(config):
    plugin = config.pluginmanager.get_plugin("jetson_sim")
    print("SIM PLUGIN", plugin.__name__)
"""
    )
    result = pytester.runpytest("-s", "--help")
    result.stdout.fnmatch_lines(
        ["SIM PLUGIN pytest_jetson.sim.plugin", "*--jetson-sim-fault=NAME*", "*--jetson-sim-speed*"]
    )


def test_without_the_simulator_plugin_sim_duts_are_unknown(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x="def test_x(jetson_dut):\n    pass\n")
    result = pytester.runpytest("-p", "no:jetson_sim", "--dut=sim-orin")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown DUT 'sim-orin'; known DUTs: (none)*"])


def test_without_the_simulator_plugin_its_options_are_gone(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("-p", "no:jetson_sim", "--dut=sim-orin", "--jetson-sim-speed=8")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unrecognized arguments: --jetson-sim-speed=8*"])


def test_without_the_simulator_plugin_a_sim_block_is_an_unknown_key(
    pytester: pytest.Pytester,
) -> None:
    pytester.makefile(".yaml", **{"hil/bench": SIM_BENCH})
    result = pytester.runpytest("-p", "no:jetson_sim", "--dut=my-sim")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*hil/bench.yaml:3: duts.my-sim.sim: unknown key (valid: *)"])


def test_with_the_simulator_a_sim_block_is_known(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", **{"hil/bench": SIM_BENCH})
    pytester.makeconftest(
        """
def pytest_sessionstart(session):
    from pytest_jetson.plugin.session import get_session
    from pytest_jetson.sim.bench import SimSpec

    state = get_session(session.config)
    print("KNOWN", state.known_names())
    print("BLOCK", state.inventory.duts["my-sim"].block("sim", SimSpec))
"""
    )
    result = pytester.runpytest("-s", "--dut=my-sim", "--collect-only")
    result.stdout.fnmatch_lines(
        [
            "KNOWN ['my-sim', 'sim-orin', 'sim-orin-carrier', 'sim-orin-nano', 'sim-thor']",
            "BLOCK SimSpec(board='orin-agx', release=None, faults=(), tree=None, state=None, "
            "debugger='named')",
        ]
    )


def test_an_unknown_fault_is_a_usage_error_naming_the_known_ones(
    pytester: pytest.Pytester,
) -> None:
    result = pytester.runpytest("--dut=sim-orin", "--jetson-sim-fault=melted")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*unknown simulator fault 'melted'; known faults: boardctl_hang, boot_hang, *"]
    )


def test_a_sim_blocks_debugger_is_named_or_unnamed(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".yaml", **{"hil/bench": "duts:\n  my-sim:\n    sim: {board: orin-agx, debugger: maybe}\n"}
    )
    result = pytester.runpytest("--dut=my-sim")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*hil/bench.yaml:3: duts.my-sim.sim.debugger: must be one of named, unnamed, got 'maybe'*"]
    )
