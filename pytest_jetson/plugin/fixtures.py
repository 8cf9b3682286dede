"""Fixtures: the selected DUT, its bench entry and profile, recovery, EEPROM and console.

Heavy modules are imported inside the fixtures, so the plugin costs nothing without ``--dut``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from pytest_jetson.plugin.session import NO_DUT_REASON, JetsonSession, get_session

if TYPE_CHECKING:
    from pytest_jetson.bench import BenchEntry
    from pytest_jetson.console import SerialConsole
    from pytest_jetson.console.shell import Shell
    from pytest_jetson.dut import Dut
    from pytest_jetson.preflight.checks import CheckOutcome
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
def jetson_dut_name(request: pytest.FixtureRequest, pytestconfig: pytest.Config) -> str:
    """The name of the DUT this test runs against (one of ``--dut``; tests that need a DUT
    run once per selected DUT)."""
    state = require_session(pytestconfig)
    name: str = getattr(request, "param", state.default_dut)
    return name


@pytest.fixture(scope="session")
def jetson_entry(pytestconfig: pytest.Config, jetson_dut_name: str) -> BenchEntry:
    """The DUT's resolved bench entry (profile plus wiring); simulated DUTs start here."""
    state = require_session(pytestconfig)
    from pytest_jetson.errors import ConfigError

    try:
        return state.entry(jetson_dut_name)
    except ConfigError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def jetson_profile(jetson_entry: BenchEntry) -> Profile:
    """The DUT's target-platform profile (frozen; ``--jetson-profile`` overrides it)."""
    return jetson_entry.profile


def _dut(config: pytest.Config, name: str) -> Dut:
    from pytest_jetson.errors import ConfigError
    from pytest_jetson.plugin.outcomes import require_usable

    state = require_session(config)
    try:
        dut = state.dut(name)
    except ConfigError as exc:
        pytest.fail(str(exc), pytrace=False)
    require_usable(config, dut)
    return dut


def _preflight(config: pytest.Config, dut: Dut, name: str) -> CheckOutcome:
    from pytest_jetson.errors import ConfigError
    from pytest_jetson.plugin.outcomes import apply_outcome, require_usable

    require_usable(config, dut)
    try:
        outcomes = dut.preflight([name], flow_tool=None)
    except ConfigError as exc:
        pytest.fail(dut.redactor(str(exc)), pytrace=False)
    for outcome in outcomes:
        apply_outcome(config, dut, outcome)
    return next(o for o in outcomes if o.name == name)


@pytest.fixture(scope="session")
def jetson_dut(pytestconfig: pytest.Config, jetson_entry: BenchEntry) -> Dut:
    """The DUT handle: bench entry, profile, tool paths, state and the broken latch."""
    return _dut(pytestconfig, jetson_entry.name)


@pytest.fixture
def jetson_rcm(pytestconfig: pytest.Config, jetson_dut: Dut) -> Any:
    """The DUT driven into recovery and verified in RCM; the value is the USB device seen.

    Skips when the bench cannot put the board in recovery (and latches the DUT broken).
    """
    return _preflight(pytestconfig, jetson_dut, "rcm").details.get("device")


@pytest.fixture
def jetson_eeprom(pytestconfig: pytest.Config, jetson_dut: Dut) -> Any:
    """The DUT's EEPROM board id (read in recovery, cross-checked, cached for the session)."""
    outcome = _preflight(pytestconfig, jetson_dut, "eeprom")
    return outcome.details["reading"].board_id


@pytest.fixture
def jetson_console(pytestconfig: pytest.Config, jetson_dut: Dut) -> SerialConsole:
    """The DUT's serial console (after ``--jetson-flash``: the freshly booted board)."""
    from pytest_jetson.errors import JetsonError

    try:
        return jetson_dut.console()
    except JetsonError as exc:
        from pytest_jetson.plugin.outcomes import skip_or_fail

        skip_or_fail(pytestconfig, f"console of DUT {jetson_dut.name} unavailable: {exc}")


@pytest.fixture
def jetson_shell(pytestconfig: pytest.Config, jetson_dut: Dut) -> Shell:
    """A logged-in shell on the DUT's console (as the bench's default user)."""
    from pytest_jetson.errors import JetsonError

    state = require_session(pytestconfig)
    try:
        return state.flow(jetson_dut.name).shell()
    except JetsonError as exc:
        from pytest_jetson.plugin.outcomes import skip_or_fail

        skip_or_fail(pytestconfig, f"no shell on DUT {jetson_dut.name}: {exc}")
