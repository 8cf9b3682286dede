"""Rootdir conftest: the project's own tests use pytester to drive the plugin in-process.

Every run of the suite gets its own lock folder (``$JETSON_LOCK_DIR``, inherited by xdist
workers and by the sessions the tests start), so two checkouts tested at once on one machine
never wait for each other's simulated DUTs of the same name.
"""

from __future__ import annotations

import os
import tempfile

import pytest

pytest_plugins = ["pytester"]


def pytest_configure(config: pytest.Config) -> None:
    """Give this run its own lock folder unless the caller chose one."""
    if not os.environ.get("JETSON_LOCK_DIR"):
        os.environ["JETSON_LOCK_DIR"] = tempfile.mkdtemp(prefix="jetson-test-locks-")
