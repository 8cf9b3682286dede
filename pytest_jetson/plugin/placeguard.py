"""Remote (labgrid) benches between items: the place must still be ours.

labgrid's own pytest plugin does not notice a place taken away mid-run (labgrid#450). Before
each item every remote DUT of the session is checked: a lost lock, a vanished exporter or a
dead coordinator latches the DUT broken, fails the item as an infrastructure error and stops
the run. After an item that left a remote DUT broken (its place could not be acquired, the
bench went away mid-flash) the run stops as well.
"""

from __future__ import annotations

import pytest

from pytest_jetson.errors import BenchError
from pytest_jetson.plugin.session import get_session


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Fail (infra) and stop when a remote DUT's place is no longer usable."""
    state = get_session(item.config)
    if state is None:
        return
    for name, dut in list(state.duts.items()):
        if dut.broken is not None:
            continue
        reason = dut.side.problem()
        if reason is not None:
            lost = BenchError(f"DUT {name}: remote bench lost: {reason}")
            dut.latch_broken(f"labgrid: {reason}", lost)
            item.session.shouldstop = str(lost)
            raise lost


def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Stop the run once a remote DUT was latched broken."""
    state = get_session(item.config)
    if state is None:
        return
    from pytest_jetson.remote.side import RemoteBench

    for name, dut in state.duts.items():
        remote = isinstance(dut.side, RemoteBench)
        if remote and dut.broken is not None and not item.session.shouldstop:
            item.session.shouldstop = f"DUT {name} (remote bench) is broken: {dut.broken}"
