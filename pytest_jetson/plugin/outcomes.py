"""How the plugin layer turns domain results into pytest outcomes.

A defect fails the test; an unavailable bench skips it (``--jetson-strict`` makes that a
failure, so a dead bench is never green in CI) and latches the DUT broken when it was the board
automation or the RCM channel that failed. The latch and the states live in
:class:`~pytest_jetson.dut.Dut`; this module only turns them into skips and failures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

import pytest

from pytest_jetson.errors import BenchError

if TYPE_CHECKING:
    from pytest_jetson.dut import Dut
    from pytest_jetson.preflight.checks import CheckOutcome

LATCHING_CHECKS = frozenset({"rcm", "eeprom"})
"""Checks whose "unavailable" outcome latches the DUT broken."""

DEFECT = ("preflight", "defect")
"""User property of a test whose preflight found a defect (reported FAILED, not ERROR)."""


class DefectFailed(pytest.fail.Exception):  # type: ignore[misc,name-defined]
    """A preflight defect: the image or the profile is wrong. Raised during setup, but a
    product failure, so the plugin reports it as FAILED rather than as a setup ERROR."""


CONFIG_ERROR = pytest.StashKey[str]()
"""The session's first configuration error (later tests skip naming it)."""


def config_error(config: pytest.Config, message: str) -> NoReturn:
    """Fail the first test that meets a configuration error with its message; skip every
    later one naming it, so one bad profile gives one error, not one per test.

    Call it outside an ``except`` block: pytest shows an exception raised while handling
    another as a chain, and the user would read the message twice."""
    first = config.stash.get(CONFIG_ERROR, None)
    if first is None:
        config.stash[CONFIG_ERROR] = message
        pytest.fail(message, pytrace=False)
    pytest.skip(f"configuration error, reported once above: {first.splitlines()[0]}")


def skip_or_fail(config: pytest.Config, reason: str) -> NoReturn:
    """Skip with ``reason``, or fail under ``--jetson-strict``."""
    if config.getoption("jetson_strict"):
        pytest.fail(f"{reason} [--jetson-strict]", pytrace=False)
    pytest.skip(reason)


def require_usable(config: pytest.Config, dut: Dut) -> None:
    """Skip (or fail when strict) when ``dut`` was latched broken."""
    if dut.broken is not None:
        skip_or_fail(config, f"DUT {dut.name} is broken: {dut.broken}")


def apply_outcome(
    config: pytest.Config, dut: Dut, outcome: CheckOutcome, *, on_fail: str = "fail"
) -> None:
    """Act on one preflight outcome: pass returns; defect fails (or skips); unavailable skips."""
    if outcome.status == "pass":
        return
    text = dut.redactor(str(outcome))
    if outcome.status == "defect":
        if on_fail == "skip":
            pytest.skip(text)
        raise DefectFailed(text, pytrace=False)
    if outcome.name in LATCHING_CHECKS and outcome.ran:
        reason = f"preflight {outcome.name}: {outcome.message.splitlines()[0]}"
        dut.latch_broken(reason, BenchError(text, output=outcome.output))
    skip_or_fail(config, text)
