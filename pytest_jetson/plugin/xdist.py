"""pytest-xdist scheduling: one worker per DUT.

Every item that runs against a DUT carries the DUT's name in brackets in its node id (the
steps ``jetson-flash[thor-01]::07-flash``, the tests ``test_x[thor-01]``). The scheduler groups
items by that name, so a DUT's steps and tests go, in order, to the one worker that holds its
lock and its console, and different DUTs flash in parallel on different workers.

DUT locks are taken in one global order (their lock files' names) so that sessions selecting
the same DUTs in different orders cannot deadlock. A worker takes the lock of each DUT it is
given when it starts on it and keeps it to the end, so the scheduler hands DUTs out in that
order: the work queue always holds its DUT scopes sorted, and whatever a worker is given later
sorts after what it holds (with fewer workers than DUTs, a worker gets several in turn).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

from pytest_jetson.host.lock import lock_file_stem

_BRACKETS = re.compile(r"\[([^\]]*)\]")
_DUT_SCOPE = "jetson-dut:"


def _lock_key(scope: str) -> str:
    return lock_file_stem(scope.removeprefix(_DUT_SCOPE))


def dut_of(nodeid: str, duts: Sequence[str]) -> str | None:
    """The DUT a node id belongs to: the longest DUT name that is a whole ``-``-separated
    part of the id's bracketed parameters."""
    found: str | None = None
    for params in _BRACKETS.findall(nodeid):
        wrapped = f"-{params}-"
        for name in duts:
            if f"-{name}-" in wrapped and (found is None or len(name) > len(found)):
                found = name
    return found


class DutScheduling(LoadScopeScheduling):  # type: ignore[misc]
    """Load-scope scheduling whose scope is the DUT (other items: their module)."""

    def __init__(self, config: pytest.Config, log: Any = None, *, duts: Sequence[str]) -> None:
        super().__init__(config, log)
        self.duts = tuple(duts)

    def _assign_work_unit(self, node: Any) -> None:
        """Give ``node`` the next scope, DUT scopes in the global lock order."""
        self._sort_dut_scopes()
        super()._assign_work_unit(node)

    def _sort_dut_scopes(self) -> None:
        """Put the queued DUT scopes in lock order, in the places DUT scopes hold (the
        other scopes stay where they are)."""
        scopes = list(self.workqueue)
        slots = [i for i, scope in enumerate(scopes) if scope.startswith(_DUT_SCOPE)]
        ordered = sorted((scopes[i] for i in slots), key=_lock_key)
        if ordered == [scopes[i] for i in slots]:
            return
        for i, scope in zip(slots, ordered, strict=True):
            scopes[i] = scope
        units = dict(self.workqueue)
        self.workqueue.clear()
        for scope in scopes:
            self.workqueue[scope] = units[scope]

    def _split_scope(self, nodeid: str) -> str:
        dut = dut_of(nodeid, self.duts)
        if dut is not None:
            return f"{_DUT_SCOPE}{dut}"
        return nodeid.split("::", 1)[0]
