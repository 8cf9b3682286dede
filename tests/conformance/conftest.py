"""Opt-in conformance against real Linux_for_Tegra trees: ``PYTEST_JETSON_REAL_LFT``.

``PYTEST_JETSON_REAL_LFT=/path/to/Linux_for_Tegra[:/another/Linux_for_Tegra]`` names the trees;
without it every test here skips and says how to run them. Files a public tree strips (the
rootfs, ``kernel/Image``, Git LFS pointers) are listed at the end as "absent in this tree".
"""

from __future__ import annotations

import pytest

ENV = "PYTEST_JETSON_REAL_LFT"
ABSENT = pytest.StashKey[list[str]]()
"""``<case>: <variable> names <path>: absent in this tree`` lines, reported at the end."""


@pytest.fixture
def absent(request: pytest.FixtureRequest) -> list[str]:
    """Where a test notes a file the real tree lacks."""
    return request.config.stash.setdefault(ABSENT, [])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """List the files the trees lack (stripped from public trees), so nobody takes a pass for
    a check of files that were never there."""
    lines = terminalreporter.config.stash.get(ABSENT, [])
    if lines:
        terminalreporter.section("files absent in the real trees (not checked)")
        for line in dict.fromkeys(lines):
            terminalreporter.write_line(line)
