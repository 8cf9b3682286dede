"""``jetson_preflight`` and ``jetson_chip``: evaluated like pytest's own skipping markers.

Marker arguments are validated at collection (an unknown check or chip is a usage error that
lists the valid names and the marker's signature); evaluation runs in ``pytest_runtest_setup``
through small pure functions, then acts on their result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from pytest_jetson.plugin.session import NO_DUT_REASON, get_session, inspect_only

BUILTIN_CHECKS = ("bsp_image", "rcm", "eeprom", "default_user")
CHIP_IDS = ("t234", "t264")
PREFLIGHT_SIGNATURE = "jetson_preflight(*checks, on_fail='fail')"
CHIP_SIGNATURE = "jetson_chip(*chips)"


@dataclass(frozen=True)
class PreflightRequest:
    """What an item's ``jetson_preflight`` markers ask for."""

    checks: tuple[str, ...]
    on_fail: str


def known_checks(config: pytest.Config) -> list[str]:
    """The built-in check names plus those a bench adds through the hook."""
    names = list(BUILTIN_CHECKS)
    hook: Any = config.hook
    for found in hook.pytest_jetson_preflight_checks(config=config):
        names.extend(n for n in (found or {}) if n not in names)
    return names


def preflight_request(item: pytest.Item, valid: list[str]) -> PreflightRequest | None:
    """Read and validate the item's ``jetson_preflight`` markers (None when it has none)."""
    marks = list(item.iter_markers("jetson_preflight"))
    if not marks:
        return None
    checks: list[str] = []
    on_fail = "fail"
    for mark in marks:
        unknown_kw = set(mark.kwargs) - {"on_fail"}
        if unknown_kw:
            raise pytest.UsageError(
                f"{item.nodeid}: unexpected argument {sorted(unknown_kw)[0]!r}; "
                f"usage: {PREFLIGHT_SIGNATURE}"
            )
        value = mark.kwargs.get("on_fail", "fail")
        if value not in ("fail", "skip"):
            raise pytest.UsageError(
                f"{item.nodeid}: on_fail must be 'fail' or 'skip', got {value!r}; "
                f"usage: {PREFLIGHT_SIGNATURE}"
            )
        on_fail = value if mark is marks[0] else on_fail
        for name in mark.args:
            if name not in valid:
                raise pytest.UsageError(
                    f"{item.nodeid}: unknown preflight check {name!r}; valid checks: "
                    f"{', '.join(valid)}; usage: {PREFLIGHT_SIGNATURE}"
                )
            checks.append(name)
    if not checks:
        raise pytest.UsageError(
            f"{item.nodeid}: name at least one check; valid checks: {', '.join(valid)}; "
            f"usage: {PREFLIGHT_SIGNATURE}"
        )
    return PreflightRequest(tuple(dict.fromkeys(checks)), on_fail)


def chip_request(item: pytest.Item) -> tuple[str, ...] | None:
    """The chips an item's ``jetson_chip`` markers allow (None when it has none)."""
    marks = list(item.iter_markers("jetson_chip"))
    if not marks:
        return None
    chips: list[str] = []
    for mark in marks:
        if mark.kwargs or not mark.args:
            raise pytest.UsageError(
                f"{item.nodeid}: usage: {CHIP_SIGNATURE} with chips from {', '.join(CHIP_IDS)}"
            )
        for chip in mark.args:
            if chip not in CHIP_IDS:
                raise pytest.UsageError(
                    f"{item.nodeid}: unknown chip {chip!r}; valid: {', '.join(CHIP_IDS)}; "
                    f"usage: {CHIP_SIGNATURE}"
                )
            chips.append(chip)
    return tuple(chips)


def _needs_dut(item: pytest.Item) -> bool:
    """Whether ``item`` uses a DUT (a ``jetson_*`` fixture or marker, or a flash step)."""
    names = getattr(item, "fixturenames", ())
    return any(n.startswith("jetson_") for n in names) or any(
        m.name.startswith("jetson_") for m in item.iter_markers()
    )


_REQUESTS = pytest.StashKey[PreflightRequest | None]()
_CHIPS = pytest.StashKey[tuple[str, ...] | None]()


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Validate marker arguments once, at collection (items without them cost one lookup)."""
    valid: list[str] | None = None
    for item in items:
        marks = {
            m.name for m in item.iter_markers() if m.name in ("jetson_preflight", "jetson_chip")
        }
        if not marks:
            continue
        if "jetson_preflight" in marks and valid is None:
            valid = known_checks(config)
        item.stash[_REQUESTS] = preflight_request(item, valid or [])
        item.stash[_CHIPS] = chip_request(item)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip tests for other chips, then run the requested preflight checks. After the
    session's first configuration error, every test that needs a DUT skips naming it."""
    from pytest_jetson.plugin.outcomes import CONFIG_ERROR

    first = item.config.stash.get(CONFIG_ERROR, None)
    if first is not None and _needs_dut(item):
        pytest.skip(f"configuration error, reported once above: {first.splitlines()[0]}")
    chips = item.stash.get(_CHIPS, None)
    request = item.stash.get(_REQUESTS, None)
    if chips is None and request is None:
        return
    from pytest_jetson.plugin.outcomes import (
        apply_outcome,
        config_error,
        require_usable,
        skip_or_fail,
    )

    state = get_session(item.config)
    if state is None:
        skip_or_fail(item.config, NO_DUT_REASON)
    if inspect_only(item.config) is not None:
        return  # --setup-only/--setup-plan: the chip and the preflights need the bench
    from pytest_jetson.errors import ConfigError

    try:
        dut = state.dut(item_dut(item, state.default_dut))
    except ConfigError as exc:
        message = str(exc)
    else:
        message = ""
    if message:
        config_error(item.config, message)
    if chips is not None:
        chip = dut.entry.profile.chip.catalogue_id
        if chip not in chips:
            pytest.skip(f"written for {', '.join(chips)}; DUT {dut.name} is {chip}")
    if request is None:
        return
    require_usable(item.config, dut)
    try:
        outcomes = dut.preflight(request.checks, flow_tool=_flow_tool(state, dut.name))
    except ConfigError as exc:
        pytest.fail(dut.redactor(str(exc)), pytrace=False)
    for outcome in outcomes:
        apply_outcome(item.config, dut, outcome, on_fail=request.on_fail)


def item_dut(item: pytest.Item, default: str) -> str:
    """The DUT an item runs against (its ``jetson_dut_name`` parameter, else ``default``)."""
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        name = callspec.params.get("jetson_dut_name")
        if isinstance(name, str):
            return name
    return default


def _flow_tool(state: Any, name: str) -> str | None:
    from pytest_jetson.errors import ConfigError

    try:
        tool: str = state.flow(name).flow_choice().tool
    except ConfigError:
        return None
    return tool
