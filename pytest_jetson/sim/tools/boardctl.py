"""``tools/board_automation/boardctl``: the TOPO board-automation tool.

R36 has a fixed target list (``topo``, ``orin-slt``, ``concord``) and no banner, and reports a
bad target on stdout before it looks at the command; R38+ prints a version banner, scans
``_targets/*.py`` for its targets (``topo`` is the Orin TOPO driver, ``thor-jetson-module`` the
Thor one, ``orin-jetson`` an Orin alias; ``thor-jetson`` is renamed ``thor-jetson-devkit``) and
says ``External distribution detected.`` on stderr.

boardctl drives one debugger of the host: every DUT's TOPO (``0955:7045``) is on the host's
bus. ``-s SERIAL`` (or ``$PMXXX_SERIAL``) picks the TOPO with that USB serial, ``-i INDEX`` the
N-th found. Without either, R36.2 takes index 0 (its ``-i`` defaults to 0) and silently drives
the first TOPO found; R38+ stops with ``Multiple (N) debuggers detected! Serial number or index
is required.`` A driver of the wrong family (the Orin ``topo`` on a Thor) reaches the MCU but
not the board's recovery and reset lines: the command ends and the board is as it was.
"""

from __future__ import annotations

import dataclasses
import optparse
import os
from collections.abc import Callable

from pytest_jetson.sim.state import (
    DutState,
    Mode,
    StateStore,
    log_call,
    power_cycle,
    tool_calls,
    topo_serial,
)
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
    38: ("topo", "orin-jetson", "thor-jetson-module"),
    39: ("topo", "orin-jetson", "thor-jetson-module"),
}
BANNERS = {38: "BOARDCTL: version 20250517.1", 39: "BOARDCTL: version 20260507.1"}
TOPO_TARGETS: dict[str, str] = {
    "topo": "t234",
    "orin-jetson": "t234",
    "thor-jetson-module": "t264",
    "thor-jetson-devkit": "t264",
}
"""Targets that drive the TOPO MCU the simulated DUTs carry → the chip whose lines they know."""
ALIASES = {"thor-jetson": "thor-jetson-devkit"}
"""R38+ renames these targets before it looks them up."""

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
    r38 = env.release.major >= 38
    parser = optparse.OptionParser(
        prog="boardctl", usage="%prog [options] <command>\n\n  command: " + " | ".join(commands)
    )
    parser.add_option("-t", "--target", help=f"Target board [{listed}]")
    parser.add_option("-s", "--serial", help="Debugger serial number (default: $PMXXX_SERIAL)")
    parser.add_option("-v", "--variant", help="Target board variant")
    parser.add_option(
        "-d", "--delay", type="float", default=0.25, help="Delay between steps [default: 0.25]"
    )
    parser.add_option(
        "-i", "--index", type="int", default=None if r38 else 0, help="Debugger index, from 0"
    )
    if r38:
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
    opts, args = _parser(env, commands).parse_args(argv)
    target = ALIASES.get(opts.target, opts.target) if r38 else opts.target
    if not _target_ok(env, target):
        return 1
    if opts.serial is None and "PMXXX_SERIAL" in os.environ:
        opts.serial = os.environ["PMXXX_SERIAL"]
        err(f"NOTE: Using --serial={opts.serial} from environment.")
    if target not in TOPO_TARGETS:
        err(NO_DEBUGGER)
        return 1
    picked = pick_debugger(env, opts.serial, opts.index)
    if isinstance(picked, str):
        return _raised(picked)
    if len(args) != 1 or args[0] not in commands:
        _bad_command(r38, args, commands)
        return 1
    driven = picked if picked.read().chip == TOPO_TARGETS[target] else None
    return _topo(env, picked, driven, args[0])


def _raised(message: str) -> int:
    """nvtopo raises a bare ``Exception`` that nothing catches: Python prints a traceback
    and boardctl exits 1."""
    err("Traceback (most recent call last):")
    err('  File "boardctl", in <module>')
    err(f"Exception: {message}")
    return 1


def _target_ok(env: ToolEnv, target: str | None) -> bool:
    """R36: a bad target on stdout; R38+: ``-t`` required, a bad one explained on stderr."""
    listed = targets(env)
    use_one = f"Use one of following: [{' | '.join(listed)}]"
    if env.release.major < 38:
        if target not in listed:
            out(f"'{target}' is not a supported target board\n{use_one}")
            return False
        return True
    if target is None:
        err("ERROR: Option '-t' not given, and no target type is enumerated by the dev-platform.")
        return False
    if target not in listed:
        err(f"ERROR: '{target}' is not a supported target board.")
        err(f"DIAGNOSTIC: No module named '_targets.{target}'")
        err(use_one)
        return False
    return True


def _bad_command(r38: bool, args: list[str], commands: tuple[str, ...]) -> None:
    if not r38:
        err("Must give a board control command: " + " | ".join(commands))
    elif len(args) != 1:
        err("ERROR: missing required command")
        err("AVAILABLE: " + " | ".join(commands))
    else:
        err(f"ERROR: unknown command '{args[0]}'")
        err("AVAILABLE: " + " | ".join(commands))


def debuggers(env: ToolEnv) -> list[StateStore]:
    """The host's TOPOs in the order the TOPO library finds them (by USB port path)."""
    found = [(store.read().port_numbers, store) for store in env.host_stores()]
    return [store for _, store in sorted(found, key=lambda pair: pair[0])]


def pick_debugger(env: ToolEnv, serial: str | None, index: int | None) -> StateStore | str:
    """The TOPO ``-s``/``-i`` name (R36.2: index 0 without either), or the error text."""
    found = debuggers(env)
    if not found:
        return NO_DEBUGGER
    if len(found) > 1 and serial is None and index is None:
        return f"Multiple ({len(found)}) debuggers detected! Serial number or index is required."
    if serial is not None:
        for store in found:
            if topo_serial(store.read()) == serial:
                return store
        return f"No device with serial {serial} found."
    chosen = 0 if index is None else index
    if not 0 <= chosen < len(found):
        return f"Invalid index {chosen}. TOPO device count: {len(found)}"
    return found[chosen]


def _dots(env: ToolEnv, n: int = 6) -> None:
    for _ in range(n):
        env.sleep(0.03)
        print(".", end="", flush=True)
    out()


def _topo(env: ToolEnv, picked: StateStore, driven: StateStore | None, command: str) -> int:
    """Run ``command`` on the picked TOPO; ``driven`` is None when the target's driver does not
    know this board's lines (the commands end, the board stays as it was)."""
    state = picked.read()
    first = not any(call.tool == "boardctl" for call in tool_calls(picked.state_dir))
    log_call(picked.state_dir, "boardctl", [command])
    if first and state.has_fault("topo_glitch"):
        return _raised(NO_DEBUGGER)  # the TOPO dropped off the bus for a moment
    env = dataclasses.replace(env, store=picked)
    if state.has_fault("boardctl_hang"):
        if command in ("recovery", "power_off"):
            out(POWER_OFF)
        hang()

    def move(change: Callable[[DutState], DutState]) -> None:
        if driven is not None:
            driven.update(change)

    if command == "recovery":
        out(POWER_OFF)
        _dots(env)
        move(lambda s: power_cycle(s, "off"))
        out("Powering off done.")
        out("Putting the board into recovery. Please do not interrupt the process!")
        env.sleep(0.1)
        mode: Mode = "on" if state.has_fault("no_rcm") else "recovery"
        move(lambda s: power_cycle(s, mode))
        out("Recovery mode done.")
    elif command in ("reset", "ec_reset"):
        out("Resetting the board. Please do not interrupt the process!")
        env.sleep(0.05)
        move(lambda s: power_cycle(s, "on"))
        out("Reset done.")
    elif command == "power_off":
        out(POWER_OFF)
        _dots(env)
        move(lambda s: power_cycle(s, "off"))
        out("Powering off done.")
    elif command == "power_on":
        out("Powering on the board. Please do not interrupt the process!")
        env.sleep(0.05)
        move(_power_on)
        out("Power on sequence done.")
    elif command == "status":
        _status(env, picked.read())
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
