"""boardctl in the simulated tree: help, errors and TOPO commands per release."""

from __future__ import annotations

import dataclasses
import types

import pytest

from pytest_jetson.sim.host import SimDut, SimHost

BOARDCTL = "tools/board_automation/boardctl"


@pytest.fixture(scope="module")
def duts(module_host: SimHost) -> dict[str, SimDut]:
    return {
        "R36.2.0": module_host.add_dut("orin-r362", "orin-agx", release="R36.2.0", speed=10),
        "R38.4.0": module_host.add_dut("thor-r384", "thor-agx", release="R38.4.0", speed=10),
        "R39.2.0": module_host.add_dut("thor-r392", "thor-agx", release="R39.2.0", speed=10),
    }


def _targets_line(stdout: str) -> str:
    lines = stdout.splitlines()
    at = next(i for i, ln in enumerate(lines) if "-t TARGET, --target=TARGET" in ln)
    return lines[at + 1].strip()


def test_r36_help_lists_fixed_targets_without_banner(
    duts: dict[str, SimDut], kit: types.SimpleNamespace
) -> None:
    result = kit.run_tool(duts["R36.2.0"], BOARDCTL, "-h")
    assert result.returncode == 0
    assert not result.stdout.startswith("BOARDCTL")
    assert _targets_line(result.stdout) == "Target board [topo | orin-slt | concord]"
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("release", "banner", "targets"),
    [
        ("R38.4.0", "BOARDCTL: version 20250517.1", {"topo", "thor-jetson-module", "orin-jetson"}),
        ("R39.2.0", "BOARDCTL: version 20260507.1", {"topo", "thor-jetson-module", "orin-jetson"}),
    ],
)
def test_r38_help_has_banner_scanned_targets_and_stderr_noise(
    duts: dict[str, SimDut],
    kit: types.SimpleNamespace,
    release: str,
    banner: str,
    targets: set[str],
) -> None:
    result = kit.run_tool(duts[release], BOARDCTL, "-h")
    assert result.returncode == 0
    assert result.stdout.splitlines()[0] == banner
    assert "External distribution detected." in result.stderr
    listed = _targets_line(result.stdout)
    assert listed.startswith("Target board [")
    assert set(listed[len("Target board [") : -1].split(" | ")) == targets


def _on(dut: SimDut, *args: str) -> tuple[str, ...]:
    """``args`` with the debugger of ``dut`` named (``-s``), as the product calls boardctl."""
    return ("-s", dut.boardctl_serial, *args)


def test_missing_command_errors_per_release(
    duts: dict[str, SimDut], kit: types.SimpleNamespace
) -> None:
    r36 = kit.run_tool(duts["R36.2.0"], BOARDCTL, "-t", "topo")
    assert r36.returncode == 1
    assert r36.stderr.startswith("Must give a board control command: reset | recovery")
    r38 = kit.run_tool(duts["R38.4.0"], BOARDCTL, *_on(duts["R38.4.0"], "-t", "topo"))
    assert r38.returncode == 1
    assert "ERROR: missing required command" in r38.stderr
    assert "AVAILABLE: reset | recovery" in r38.stderr


def test_bad_target_errors_per_release(duts: dict[str, SimDut], kit: types.SimpleNamespace) -> None:
    r36 = kit.run_tool(duts["R36.2.0"], BOARDCTL, "-t", "bogus", "status")
    assert r36.returncode == 1
    assert r36.stdout.splitlines() == [
        "'bogus' is not a supported target board",
        "Use one of following: [topo | orin-slt | concord]",
    ]
    assert r36.stderr == ""
    # R36.2 checks the target before the command.
    r36_no_command = kit.run_tool(duts["R36.2.0"], BOARDCTL, "-t", "bogus")
    assert r36_no_command.stdout.startswith("'bogus' is not a supported target board")
    r38 = kit.run_tool(duts["R38.4.0"], BOARDCTL, "-t", "bogus", "status")
    assert r38.returncode == 1
    assert "ERROR: 'bogus' is not a supported target board." in r38.stderr
    assert "DIAGNOSTIC: " in r38.stderr and "Use one of following: [" in r38.stderr
    no_t = kit.run_tool(duts["R38.4.0"], BOARDCTL, "status")
    assert "ERROR: Option '-t' not given" in no_t.stderr
    unknown = kit.run_tool(duts["R38.4.0"], BOARDCTL, *_on(duts["R38.4.0"], "-t", "topo", "jump"))
    assert "ERROR: unknown command 'jump'" in unknown.stderr


def test_listed_target_without_its_hardware_finds_no_debugger(
    duts: dict[str, SimDut], kit: types.SimpleNamespace
) -> None:
    result = kit.run_tool(duts["R36.2.0"], BOARDCTL, "-t", "concord", "status")
    assert result.returncode == 1
    assert result.stderr.startswith("No debugger found!")


def test_recovery_prints_topo_messages_and_enters_rcm(
    duts: dict[str, SimDut], kit: types.SimpleNamespace
) -> None:
    dut = duts["R36.2.0"]
    result = kit.run_tool(dut, BOARDCTL, "-t", "topo", "recovery")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Powering off the board. This process may take about 19 seconds.")
    assert lines[1].strip(".") == ""
    assert lines[2:] == [
        "Powering off done.",
        "Putting the board into recovery. Please do not interrupt the process!",
        "Recovery mode done.",
    ]
    assert dut.state().in_rcm


def test_reset_power_off_power_on_and_status(
    duts: dict[str, SimDut], kit: types.SimpleNamespace
) -> None:
    dut = duts["R39.2.0"]
    for other in duts.values():
        other.store.replace(mode="on")
    kit.run_tool(dut, BOARDCTL, *_on(dut, "-t", "thor-jetson-module", "recovery"))
    status = kit.run_tool(dut, BOARDCTL, *_on(dut, "-t", "thor-jetson-module", "status"))
    assert "GPIO_FORCE_RECOVERY is 1" in status.stdout
    assert "IN RECOVERY MODE" in status.stdout.splitlines()
    duts["R38.4.0"].store.replace(mode="recovery")
    status = kit.run_tool(dut, BOARDCTL, *_on(dut, "-t", "thor-jetson-module", "status"))
    assert "AMBIGUOUS (too many nvidia RCM devices)" in status.stdout.splitlines()
    duts["R38.4.0"].store.replace(mode="on")
    boots = dut.state().boot_seq
    reset = kit.run_tool(dut, BOARDCTL, *_on(dut, "-t", "thor-jetson-module", "reset"))
    assert reset.returncode == 0
    assert dut.state().mode == "on" and dut.state().boot_seq == boots + 1
    off = kit.run_tool(dut, BOARDCTL, *_on(dut, "-t", "thor-jetson-module", "power_off"))
    assert off.stdout.splitlines()[-1] == "Powering off done."
    assert dut.state().mode == "off"
    on = kit.run_tool(dut, BOARDCTL, *_on(dut, "-t", "thor-jetson-module", "power_on"))
    assert on.stdout.splitlines()[-1] == "Power on sequence done."
    assert dut.state().mode == "on"
    status = kit.run_tool(dut, BOARDCTL, *_on(dut, "-t", "thor-jetson-module", "status"))
    assert "NOT IN RECOVERY MODE" in status.stdout


def test_no_rcm_fault_says_done_but_boots_normally(
    duts: dict[str, SimDut], kit: types.SimpleNamespace
) -> None:
    dut = duts["R38.4.0"]
    dut.store.update(lambda s: dataclasses.replace(s, faults=("no_rcm",)))
    try:
        result = kit.run_tool(dut, BOARDCTL, *_on(dut, "-t", "thor-jetson-module", "recovery"))
        assert result.returncode == 0 and "Recovery mode done." in result.stdout
        assert dut.state().mode == "on" and not dut.state().in_rcm
    finally:
        dut.store.replace(faults=())


def test_r36_without_serial_or_index_drives_the_first_debugger_found(
    duts: dict[str, SimDut], kit: types.SimpleNamespace
) -> None:
    """Three TOPOs on the host: R36.2's boardctl run from any tree drives index 0."""
    first, mine = duts["R36.2.0"], duts["R38.4.0"]
    for dut in duts.values():
        dut.store.replace(mode="on")
    result = kit.run_tool(first, BOARDCTL, "-t", "topo", "recovery")
    assert result.returncode == 0 and result.stderr == ""
    assert first.state().in_rcm
    first.store.replace(mode="on")
    by_index = kit.run_tool(first, BOARDCTL, "-t", "topo", "-i", "0", "power_off")
    assert by_index.returncode == 0
    assert first.state().mode == "off" and mine.state().mode == "on"
    first.store.replace(mode="on")
    bad = kit.run_tool(first, BOARDCTL, "-t", "topo", "-i", "3", "status")
    assert bad.returncode == 1
    assert bad.stderr.splitlines()[-1] == "Exception: Invalid index 3. TOPO device count: 3"
    unknown = kit.run_tool(first, BOARDCTL, "-t", "topo", "-s", "TOPO0", "status")
    assert unknown.stderr.splitlines()[-1] == "Exception: No device with serial TOPO0 found."
    env = kit.run_tool(first, BOARDCTL, "-t", "topo", "status", PMXXX_SERIAL=mine.boardctl_serial)
    assert f"NOTE: Using --serial={mine.boardctl_serial} from environment." in env.stderr


@pytest.mark.parametrize("release", ["R38.4.0", "R39.2.0"])
def test_r38_without_serial_or_index_refuses_several_debuggers(
    duts: dict[str, SimDut], kit: types.SimpleNamespace, release: str
) -> None:
    dut = duts[release]
    dut.store.replace(mode="on")
    result = kit.run_tool(dut, BOARDCTL, "-t", "thor-jetson-module", "recovery")
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "Exception: Multiple (3) debuggers detected! Serial number or index is required."
    )
    assert all(d.state().mode == "on" for d in duts.values())


def test_orin_topo_driver_does_not_reach_a_thor(
    duts: dict[str, SimDut], kit: types.SimpleNamespace
) -> None:
    """R38+: ``topo`` is the Orin TOPO driver; a Thor needs ``thor-jetson-module``."""
    dut = duts["R38.4.0"]
    assert dut.boardctl_target == "thor-jetson-module"
    dut.store.replace(mode="on")
    result = kit.run_tool(dut, BOARDCTL, *_on(dut, "-t", "topo", "recovery"))
    assert result.returncode == 0
    assert not dut.state().in_rcm


def test_boardctl_hang_fault_hangs_until_killed(
    duts: dict[str, SimDut], kit: types.SimpleNamespace
) -> None:
    dut = duts["R38.4.0"]
    dut.store.replace(faults=("boardctl_hang",))
    try:
        assert kit.run_tool(dut, BOARDCTL, "-h").returncode == 0
        proc = kit.start_tool(dut, BOARDCTL, *_on(dut, "-t", "thor-jetson-module", "recovery"))
        with pytest.raises(Exception, match="timed out"):
            proc.wait(timeout=0.5)
        kit.kill_group(proc)
        assert dut.state().mode == "on"
    finally:
        dut.store.replace(faults=())
