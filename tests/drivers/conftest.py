"""A simulated bench host for the driver tests: the in-tree tools and USB devices."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_jetson.sim.host import SimHost


@pytest.fixture
def host(tmp_path: Path) -> Iterator[SimHost]:
    with SimHost(tmp_path / "sim") as sim:
        yield sim
