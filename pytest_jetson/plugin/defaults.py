"""Default implementations of the ``pytest_jetson_*`` hooks, registered ``trylast``.

A bench ``conftest.py`` implementing the same hook runs first and wins (the hooks are
``firstresult``); returning None hands over to these defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_jetson.plugin.session import get_session

if TYPE_CHECKING:
    from pytest_jetson.bench import BenchEntry

# The bench and profile modules (YAML) are imported inside the hooks: this module is
# registered at every start-up, and without --dut the plugin must cost nothing.


@pytest.hookimpl(trylast=True)
def pytest_jetson_known_duts(config: pytest.Config) -> list[str] | None:
    """Every DUT of the bench inventory."""
    state = get_session(config)
    if state is None:
        return None
    return [] if state.inventory is None else state.inventory.names


@pytest.hookimpl(trylast=True)
def pytest_jetson_resolve_dut(config: pytest.Config, name: str, workdir: Path) -> BenchEntry | None:
    """The inventory entry ``name`` (its profile loaded), or None when there is none."""
    state = get_session(config)
    if state is None or state.inventory is None or name not in state.inventory.duts:
        return None
    return state.inventory.entry(name)


@pytest.hookimpl(trylast=True)
def pytest_jetson_dut_lock(config: pytest.Config, name: str) -> bool | None:
    """Every DUT takes the bench host's lock, except a remote (``labgrid:``) one: its labgrid
    place is its lock, which every host sees."""
    state = get_session(config)
    dut = None if state is None or state.inventory is None else state.inventory.duts.get(name)
    return dut is None or dut.labgrid is None


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
