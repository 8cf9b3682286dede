"""pytest-xdist scheduling: one worker per DUT.

Every item that runs against a DUT carries the DUT's name in brackets in its node id (the
steps ``jetson-flash[thor-01]::07-flash``, the tests ``test_x[thor-01]``). The scheduler groups
items by that name, so a DUT's steps and tests go, in order, to the one worker that holds its
lock and its console, and different DUTs flash in parallel on different workers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

_BRACKETS = re.compile(r"\[([^\]]*)\]")


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

    def _split_scope(self, nodeid: str) -> str:
        dut = dut_of(nodeid, self.duts)
        if dut is not None:
            return f"jetson-dut:{dut}"
        return nodeid.split("::", 1)[0]
