"""``tools/board_automation/boardctl``: the TOPO board-automation tool (facts.md §4).

R36 has a fixed target list and no banner; R38+ prints a version banner, scans
``_targets/*.py`` for its targets and says ``External distribution detected.`` on stderr.
Only the TOPO-style targets (``topo``, R39.2's ``orin-jetson`` alias) reach the simulated DUT.
"""

from __future__ import annotations

import dataclasses
import optparse
import os

from pytest_jetson.sim.state import DutState, Mode, power_cycle
from pytest_jetson.sim.tools._env import ToolEnv, err, hang, out

COMMANDS_R36 = (
    "reset",
    "recovery",
    "usb_on",
    "usb_off",
    "recovery_up",
    "recovery_down",
    "onkey",
    "onkey_up",
    "onkey_down",
    "power_on",
    "power_off",
    "status",
)
COMMANDS_R38 = (*COMMANDS_R36, "ec_reset")
TARGETS_R36 = ("topo", "orin-slt", "concord")
TARGETS_R38 = {
    38: ("topo", "thor-jetson-module"),
    39: ("topo", "orin-jetson", "thor-jetson-module"),
}
BANNERS = {38: "BOARDCTL: version 20250517.1", 39: "BOARDCTL: version 20260507.1"}
TOPO_TARGETS = ("topo", "orin-jetson")
"""Targets that drive the TOPO MCU the simulated DUTs carry."""

POWER_OFF = (
    "Powering off the board. This process may take about 19 seconds. "
    "Please do not interrupt the process!"
)
NO_DEBUGGER = (
    "No debugger found! If the target is connected and is detected by host "
    "(in lsusb as device 0955:7045) then try using sudo or setup udev rule."
)


def targets(env: ToolEnv) -> tuple[str, ...]:
    """The targets ``-h`` lists in this release (R38+: scanned from ``_targets/``)."""
    if env.release.major < 38:
        return TARGETS_R36
    scanned = env.lft / "tools" / "board_automation" / "_targets"
    if scanned.is_dir():
        names = [
            n[: -len(".py")]
            for n in os.listdir(scanned)
            if n.endswith(".py") and not n.startswith("_")
        ]
        if names:
            return tuple(names)
    return TARGETS_R38[39 if env.release.major >= 39 else 38]


def _parser(env: ToolEnv, commands: tuple[str, ...]) -> optparse.OptionParser:
    listed = " | ".join(targets(env))
    parser = optparse.OptionParser(
        prog="boardctl", usage="%prog [options] <command>\n\n  command: " + " | ".join(commands)
    )
    parser.add_option("-t", "--target", help=f"Target board [{listed}]")
    parser.add_option(
        "-s", "--serial", default=os.environ.get("PMXXX_SERIAL"), help="Debugger serial number"
    )
    parser.add_option("-v", "--variant", help="Target board variant")
    parser.add_option(
        "-d", "--delay", type="float", default=0.25, help="Delay between steps [default: 0.25]"
    )
    parser.add_option("-i", "--index", type="int", help="Debugger index when several are found")
    if env.release.major >= 38:
        parser.add_option("-j", "--secidx", type="int", help="Secondary debugger index")
        parser.add_option("--boot-device", help="Boot device to select")
        parser.add_option("--boot-chain", help="Boot chain to select")
        parser.add_option("--config", help="Board configuration file")
    return parser


def main(env: ToolEnv, argv: list[str]) -> int:
    """Run boardctl with ``argv``; return its exit code."""
    r38 = env.release.major >= 38
    commands = COMMANDS_R38 if r38 else COMMANDS_R36
    if r38:
        out(BANNERS[39 if env.release.major >= 39 else 38])
        err("External distribution detected.")
    parser = _parser(env, commands)
    opts, args = parser.parse_args(argv)
    if opts.serial and "PMXXX_SERIAL" in os.environ and opts.serial == os.environ["PMXXX_SERIAL"]:
        out(f"NOTE: Using --serial={opts.serial} from environment.")
    listed = targets(env)
    use_one = f"Use one of following: [{' | '.join(listed)}]"
    if not args:
        if r38:
            err("ERROR: missing required command")
            err("AVAILABLE: " + " | ".join(commands))
        else:
            err("Must give a board control command: " + " | ".join(commands))
        return 1
    command = args[0]
    if len(args) > 1 or command not in commands:
        bad = args[1] if command in commands else command
        if r38:
            err(f"ERROR: unknown command '{bad}'")
            err("AVAILABLE: " + " | ".join(commands))
        else:
            err("Must give a board control command: " + " | ".join(commands))
        return 1
    if opts.target is None and r38:
        err("ERROR: Option '-t' not given, and no target type is enumerated by the dev-platform.")
        return 1
    if opts.target not in listed:
        if r38:
            err(f"ERROR: '{opts.target}' is not a supported target board.")
            err(
                "DIAGNOSTIC: targets are scanned from "
                f"{env.lft / 'tools' / 'board_automation' / '_targets'}"
            )
        else:
            err(f"'{opts.target}' is not a supported target board")
        err(use_one)
        return 1
    if opts.target not in TOPO_TARGETS:
        err(NO_DEBUGGER)
        return 1
    return _topo(env, command)


def _dots(env: ToolEnv, n: int = 6) -> None:
    for _ in range(n):
        env.sleep(0.03)
        print(".", end="", flush=True)
    out()


def _topo(env: ToolEnv, command: str) -> int:
    state = env.state
    if state.has_fault("boardctl_hang"):
        if command in ("recovery", "power_off"):
            out(POWER_OFF)
        hang()
    if command == "recovery":
        out(POWER_OFF)
        _dots(env)
        env.store.update(lambda s: power_cycle(s, "off"))
        out("Powering off done.")
        out("Putting the board into recovery. Please do not interrupt the process!")
        env.sleep(0.1)
        mode: Mode = "on" if state.has_fault("no_rcm") else "recovery"
        env.store.update(lambda s: power_cycle(s, mode))
        out("Recovery mode done.")
    elif command in ("reset", "ec_reset"):
        out("Resetting the board. Please do not interrupt the process!")
        env.sleep(0.05)
        env.store.update(lambda s: power_cycle(s, "on"))
        out("Reset done.")
    elif command == "power_off":
        out(POWER_OFF)
        _dots(env)
        env.store.update(lambda s: power_cycle(s, "off"))
        out("Powering off done.")
    elif command == "power_on":
        out("Powering on the board. Please do not interrupt the process!")
        env.sleep(0.05)
        env.store.update(_power_on)
        out("Power on sequence done.")
    elif command == "status":
        _status(env, state)
    else:
        env.sleep(0.02)
        out(f"{command} done.")
    return 0


def _power_on(state: DutState) -> DutState:
    if state.mode == "off":
        return power_cycle(state, "on")
    return dataclasses.replace(state)


def _status(env: ToolEnv, state: DutState) -> None:
    powered = state.mode != "off"
    out(f"GPIO_POWER_BTN is {1 if powered else 0}")
    out(f"GPIO_FORCE_RECOVERY is {1 if state.mode == 'recovery' else 0}")
    out("GPIO_SYS_RESET is 1")
    if env.release.major >= 39:
        rcm = env.rcm_devices()
        if len(rcm) > 1:
            out("AMBIGUOUS (too many nvidia RCM devices)")
        elif state.in_rcm:
            out("IN RECOVERY MODE")
        else:
            out("NOT IN RECOVERY MODE")
