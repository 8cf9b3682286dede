"""Default implementations of the ``pytest_jetson_*`` hooks, registered ``trylast``.

A bench ``conftest.py`` implementing the same hook runs first and wins (the hooks are
``firstresult``); returning None hands over to these defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_jetson.plugin.session import JetsonSession, get_session

if TYPE_CHECKING:
    from pytest_jetson.bench import BenchEntry, DefaultUser, SimSpec

# The bench and profile modules (YAML) are imported inside the hooks: this module is
# registered at every start-up, and without --dut the plugin must cost nothing.


@pytest.hookimpl(trylast=True)
def pytest_jetson_known_duts(config: pytest.Config) -> list[str] | None:
    """The built-in simulated DUTs plus every DUT of the bench inventory."""
    state = get_session(config)
    return None if state is None else state.known_names()


@pytest.hookimpl(trylast=True)
def pytest_jetson_resolve_dut(config: pytest.Config, name: str, workdir: Path) -> BenchEntry | None:
    """Resolve built-in simulated DUTs, then inventory entries (simulated or real)."""
    from pytest_jetson.bench import SIM_BOARDS, DefaultUser, SimSpec
    from pytest_jetson.profile import load_profile

    state = get_session(config)
    if state is None:
        return None
    if name in SIM_BOARDS:
        spec = SimSpec(board=SIM_BOARDS[name])
        entry = start_simulated(config, state, name, spec, DefaultUser("ubuntu"), workdir)
        return _with_carrier(config, entry)
    if state.inventory is None or name not in state.inventory.duts:
        return None
    dut = state.inventory.duts[name]
    if dut.sim is not None:
        from dataclasses import replace

        entry = start_simulated(config, state, name, dut.sim, dut.default_user, workdir)
        # The bench's operations settings hold for a simulated DUT too.
        entry = replace(entry, teardown=dut.teardown, deadlines=dut.deadlines)
        if dut.profile_ref is not None:
            # The inventory names a profile: keep its platform data but flash the simulated tree.
            profile = load_profile(state.inventory.profile_path(dut))
            profile = replace(profile, bsp_image=entry.profile.bsp_image)
            entry = replace(entry, profile=profile)
        return entry
    return state.inventory.entry(name)


def _with_carrier(config: pytest.Config, entry: BenchEntry) -> BenchEntry:
    """A built-in simulated DUT with a custom carrier: its profile declares the carrier and
    names the source workspace kept under the rootdir (its own image stays the session's)."""
    from dataclasses import replace

    from pytest_jetson.profile import load_profile
    from pytest_jetson.sim.carrier import CARRIER_DUTS, carrier_bench

    if entry.name not in CARRIER_DUTS:
        return entry
    bench = carrier_bench(config.rootpath, entry.name)
    carrier = load_profile(bench.profile_path)
    profile = replace(entry.profile, custom_carrier=carrier.custom_carrier, source=carrier.source)
    return replace(entry, profile=profile)


def start_simulated(
    config: pytest.Config,
    state: JetsonSession,
    name: str,
    spec: SimSpec,
    default_user: DefaultUser | None,
    workdir: Path,
) -> BenchEntry:
    """Start a simulated DUT on the session's simulated host and describe it as a bench entry."""
    from pytest_jetson.bench import BenchEntry, SerialSpec, SimSpec
    from pytest_jetson.profile import load_profile

    faults = tuple(dict.fromkeys((*spec.faults, *config.getoption("jetson_sim_fault"))))
    speed: float = config.getoption("jetson_sim_speed")
    host = state.get_sim_host()
    # The simulated Orin Nano boots from NVMe, so it exercises the initrd flow.
    boot_device = "nvme0n1p1" if spec.board == "orin-nano" else None
    dut = host.add_dut(
        name,
        spec.board,
        release=spec.release,
        faults=faults,
        speed=speed,
        default_boot_device=boot_device,
        start=config.getoption("jetson_sim_start"),
        user=_credentials(default_user),
    )
    return BenchEntry(
        name=name,
        profile=load_profile(dut.profile_path),
        boardctl_target=dut.boardctl_target,
        boardctl_serial=dut.boardctl_serial,
        serial=SerialSpec(port=str(dut.console_port)),
        usb_port=dut.usb_port,
        default_user=default_user,
        recovery="boardctl",
        sim=SimSpec(board=spec.board, release=dut.release, faults=faults),
    )


def _credentials(user: DefaultUser | None) -> tuple[str, str] | None:
    """The user a simulated board that the bench flashed before has: ubuntu/ubuntu and
    nvidia/nvidia are NVIDIA's documented defaults; a custom user's password is read from
    its environment variable; ``skip`` (or no answer) staged nobody."""
    import os

    if user is None or user.name is None:
        return None
    if user.kind == "custom":
        password = os.environ.get(user.password_env or "")
        return None if password is None else (user.name, password)
    return (user.name, user.kind)


@pytest.hookimpl(trylast=True)
def pytest_jetson_accept_plan(config: pytest.Config, plan: Any, digest: str) -> bool | None:
    """Accept with ``--jetson-accept-plan`` (any plan) or ``=<digest>`` (that exact plan);
    without it, ask on an interactive terminal (never under CI); refuse otherwise."""
    from pytest_jetson.flash.plan import Acceptance

    acceptance = Acceptance(config.getoption("jetson_accept_plan"))
    if acceptance.given:
        return acceptance.accepts(plan)
    return _ask_on_terminal(f"Flash DUT {plan.dut} with this plan (digest {digest})? [y/N] ")


def _ask_on_terminal(question: str) -> bool:
    import os
    import sys

    if os.environ.get("CI") or not sys.stdin.isatty():
        return False
    try:
        with open("/dev/tty", "r+") as tty:
            tty.write(question)
            tty.flush()
            return tty.readline().strip().lower() in ("y", "yes")
    except OSError:
        return False
