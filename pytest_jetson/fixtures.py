"""Core fixtures: the selected DUT, its bench entry and its profile."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_jetson.session import NO_DUT_REASON, JetsonSession, get_session

if TYPE_CHECKING:
    from pytest_jetson.bench import BenchEntry
    from pytest_jetson.profile import Profile


def require_session(config: pytest.Config) -> JetsonSession:
    """The session state; skips (or fails under ``--jetson-strict``) without ``--dut``."""
    state = get_session(config)
    if state is None:
        if config.getoption("jetson_strict"):
            pytest.fail(f"{NO_DUT_REASON} [--jetson-strict]", pytrace=False)
        pytest.skip(NO_DUT_REASON)
    return state


@pytest.fixture(scope="session")
def jetson_dut_name(pytestconfig: pytest.Config) -> str:
    """The name of the DUT this session runs against (``--dut``)."""
    return require_session(pytestconfig).default_dut


@pytest.fixture(scope="session")
def jetson_entry(
    pytestconfig: pytest.Config, jetson_dut_name: str, tmp_path_factory: pytest.TempPathFactory
) -> BenchEntry:
    """The DUT's resolved bench entry (profile plus wiring); simulated DUTs start here."""
    state = require_session(pytestconfig)

    def workdir(name: str) -> Path:
        return tmp_path_factory.mktemp(f"jetson-{name}")

    from pytest_jetson.errors import ConfigError

    try:
        return state.entry(jetson_dut_name, workdir)
    except ConfigError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def jetson_profile(jetson_entry: BenchEntry) -> Profile:
    """The DUT's target-platform profile (frozen; ``--jetson-profile`` overrides it)."""
    return jetson_entry.profile
