"""Fixtures: the selected DUT, its bench entry and profile, recovery, EEPROM and console.

Heavy modules are imported inside the fixtures, so the plugin costs nothing without ``--dut``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from pytest_jetson.plugin.session import NO_DUT_REASON, JetsonSession, get_session, inspect_only

if TYPE_CHECKING:
    from pytest_jetson.bench import BenchEntry
    from pytest_jetson.console import SerialConsole
    from pytest_jetson.console.shell import Shell
    from pytest_jetson.dut import Dut
    from pytest_jetson.preflight.checks import CheckOutcome
    from pytest_jetson.profile import Profile

T = TypeVar("T")


def require_session(config: pytest.Config) -> JetsonSession:
    """The session state; skips (or fails under ``--jetson-strict``) without ``--dut``."""
    state = get_session(config)
    if state is None:
        if config.getoption("jetson_strict"):
            pytest.fail(f"{NO_DUT_REASON} [--jetson-strict]", pytrace=False)
        pytest.skip(NO_DUT_REASON)
    return state


def require_bench(config: pytest.Config, name: str) -> JetsonSession:
    """The session state for a fixture that touches the bench; skips under ``--setup-only``
    and ``--setup-plan``, which only show the fixtures."""
    state = require_session(config)
    flag = inspect_only(config)
    if flag is not None:
        pytest.skip(f"{flag}: DUT {name} not touched (no bench fixture is set up)")
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
    state = require_bench(pytestconfig, jetson_dut_name)
    from pytest_jetson.errors import ConfigError
    from pytest_jetson.plugin.outcomes import config_error

    try:
        return state.entry(jetson_dut_name)
    except ConfigError as exc:
        message = str(exc)
    config_error(pytestconfig, message)


@pytest.fixture(scope="session")
def jetson_profile(jetson_entry: BenchEntry) -> Profile:
    """The DUT's target-platform profile (frozen; ``--jetson-profile`` overrides it)."""
    return jetson_entry.profile


def _dut(config: pytest.Config, name: str) -> Dut:
    from pytest_jetson.errors import ConfigError
    from pytest_jetson.plugin.outcomes import config_error, require_usable

    state = require_session(config)
    try:
        dut = state.dut(name)
    except ConfigError as exc:
        message = str(exc)
    else:
        require_usable(config, dut)
        return dut
    config_error(config, message)


def _preflight(config: pytest.Config, dut: Dut, name: str) -> CheckOutcome:
    from pytest_jetson.errors import ConfigError
    from pytest_jetson.plugin.outcomes import apply_outcome, config_error, require_usable

    require_usable(config, dut)
    try:
        outcomes = dut.preflight([name], flow_tool=None)
    except ConfigError as exc:
        message = dut.redactor(str(exc))
    else:
        for outcome in outcomes:
            apply_outcome(config, dut, outcome)
        return next(o for o in outcomes if o.name == name)
    config_error(config, message)


@pytest.fixture(scope="session")
def jetson_dut(pytestconfig: pytest.Config, jetson_entry: BenchEntry) -> Dut:
    """The DUT handle: bench entry, profile, tool paths, state and the broken latch."""
    return _dut(pytestconfig, jetson_entry.name)


@pytest.fixture
def jetson_rcm(pytestconfig: pytest.Config, jetson_dut: Dut) -> Any:
    """The DUT driven into recovery and verified in RCM; the value is the USB device seen.

    Skips when the bench cannot put the board in recovery (and latches the DUT broken).
    """
    _preflight(pytestconfig, jetson_dut, "rcm")
    return jetson_dut.findings.device


@pytest.fixture
def jetson_eeprom(pytestconfig: pytest.Config, jetson_dut: Dut) -> Any:
    """The DUT's EEPROM board id (read in recovery, cross-checked, cached for the session)."""
    _preflight(pytestconfig, jetson_dut, "eeprom")
    return jetson_dut.findings.board_id


@pytest.fixture
def jetson_console(pytestconfig: pytest.Config, jetson_dut: Dut) -> SerialConsole:
    """The DUT's serial console (after ``--jetson-flash``: the freshly booted board)."""
    return _on_console(
        pytestconfig, jetson_dut, "console of DUT {name} unavailable", jetson_dut.console
    )


@pytest.fixture
def jetson_shell(
    request: pytest.FixtureRequest, pytestconfig: pytest.Config, jetson_dut: Dut
) -> Shell:
    """A logged-in shell on the DUT's console (as the bench's default user).

    A console that does not answer (no login prompt within the ``login`` deadline) climbs the
    DUT's recovery ladder (reset, power cycle, recovery re-entry, reflash of its known-good
    image); a rung that brings it back lets the test go on (the climb is in the summary and
    the JUnit property ``jetson_recovery``), except a reflash in a session that flashed its
    own image (that image is gone: this and later tests skip). A ladder that runs out latches
    the DUT broken and quarantines it: this test skips, later ones at once.
    """
    state = require_session(pytestconfig)
    flow = state.flow(jetson_dut.name)

    def shell() -> Shell:
        from pytest_jetson.errors import BenchError

        try:
            return flow.shell()
        except BenchError as exc:
            from pytest_jetson.plugin.recovery import RECOVERY_PROPERTY, climb_for

            symptom = f"console silent: {_silence(exc)}"
            result = climb_for(state, jetson_dut, jetson_dut.redactor(symptom))
            request.node.user_properties.append((RECOVERY_PROPERTY, result.describe()))
            if not result.healed:
                raise  # the symptom is the failure (the climb is in the summary and JUnit)
            if result.healed_by == "reflash" and pytestconfig.getoption("jetson_flash"):
                # the image this session flashed is gone: no later test runs on the wrong one
                flow.fail("recovery", f"{symptom}: the board runs its known-good image now")
                raise
            return flow.shell()

    return _on_console(pytestconfig, jetson_dut, "no shell on DUT {name}", shell)


def _silence(exc: BaseException) -> str:
    """What the console did not do, in one line (the awaited regexes left out)."""
    from pytest_jetson.console.errors import ConsoleTimeout

    if isinstance(exc, ConsoleTimeout):
        return f"no login or shell prompt within {exc.timeout:.1f} s on console {exc.port}"
    return str(exc).splitlines()[0]


def _on_console(config: pytest.Config, dut: Dut, what: str, get: Callable[[], T]) -> T:
    """``get()`` on a usable DUT; a bench failure (a silent or lost console) latches it
    broken with that exception (later transitions refuse chained to it), any failure skips
    (or fails under ``--jetson-strict``) saying ``what``."""
    from pytest_jetson.errors import BenchError, JetsonError
    from pytest_jetson.plugin.outcomes import require_usable, skip_or_fail

    require_usable(config, dut)
    try:
        return get()
    except JetsonError as exc:
        reason = f"{what.format(name=dut.name)}: {exc}"
        if isinstance(exc, BenchError):
            dut.latch_broken(reason.splitlines()[0], exc)
        skip_or_fail(config, reason)
