"""run_preflight: mandated order, prerequisites, caching, unknown names, no silent passes."""

from __future__ import annotations

import pytest

from pytest_jetson.errors import UsageError
from pytest_jetson.preflight.checks import (
    STAGE_EEPROM,
    STAGE_HOST,
    STAGE_LAST,
    STAGE_RCM,
    CheckOutcome,
    PreflightCheck,
    run_preflight,
)


class Recorder:
    def __init__(self, results: dict[str, str] | None = None) -> None:
        self.ran: list[str] = []
        self.results = results or {}

    def check(self, name: str, stage: int, needs: tuple[str, ...] = ()) -> PreflightCheck:
        def run() -> CheckOutcome:
            self.ran.append(name)
            status = self.results.get(name, "pass")
            return CheckOutcome(name, status, f"{name} said {status}")  # type: ignore[arg-type]

        return PreflightCheck(name, run, stage, needs)

    def standard(self) -> dict[str, PreflightCheck]:
        return {
            "bsp_image": self.check("bsp_image", STAGE_HOST),
            "rcm": self.check("rcm", STAGE_RCM),
            "eeprom": self.check("eeprom", STAGE_EEPROM, ("rcm",)),
            "default_user": self.check("default_user", STAGE_LAST, ("bsp_image",)),
        }


def test_runs_in_mandated_order_whatever_order_is_requested() -> None:
    rec = Recorder()
    outcomes = run_preflight(["default_user", "eeprom", "rcm", "bsp_image"], rec.standard())
    assert rec.ran == ["bsp_image", "rcm", "eeprom", "default_user"]
    assert all(o.passed for o in outcomes)


def test_prerequisites_are_added_and_run_first() -> None:
    rec = Recorder()
    outcomes = run_preflight(["eeprom"], rec.standard())
    assert rec.ran == ["rcm", "eeprom"]
    assert [o.name for o in outcomes] == ["rcm", "eeprom"]


def test_missing_input_is_never_a_silent_pass() -> None:
    rec = Recorder({"rcm": "unavailable"})
    outcomes = {o.name: o for o in run_preflight(["eeprom"], rec.standard())}
    assert rec.ran == ["rcm"]
    assert outcomes["eeprom"].status == "unavailable"
    assert "not run: rcm did not pass" in outcomes["eeprom"].message
    assert (outcomes["rcm"].ran, outcomes["eeprom"].ran) == (True, False)


def test_host_defect_stops_before_touching_the_board() -> None:
    rec = Recorder({"bsp_image": "defect"})
    outcomes = run_preflight(["rcm", "bsp_image", "eeprom"], rec.standard())
    assert rec.ran == ["bsp_image"]
    assert [o.status for o in outcomes] == ["defect", "unavailable", "unavailable"]
    assert "bsp_image found a defect" in outcomes[1].message
    assert [o.ran for o in outcomes] == [True, False, False]


def test_cached_outcomes_are_reused() -> None:
    rec = Recorder()
    done = {"rcm": CheckOutcome("rcm", "pass", "earlier")}
    outcomes = run_preflight(["eeprom"], rec.standard(), done=done)
    assert rec.ran == ["eeprom"]
    assert outcomes[0].message == "earlier"


def test_unknown_check_names_list_the_valid_ones() -> None:
    with pytest.raises(UsageError) as info:
        run_preflight(["bsp_image", "flux"], Recorder().standard())
    assert "'flux'" in str(info.value)
    assert "valid: bsp_image, rcm, eeprom, default_user" in str(info.value)


def test_custom_checks_slot_into_their_stage_after_their_needs() -> None:
    rec = Recorder()
    checks = rec.standard()
    checks["power_meter"] = rec.check("power_meter", STAGE_HOST)
    checks["serial_alive"] = rec.check("serial_alive", STAGE_RCM, ("power_meter",))
    run_preflight(["serial_alive", "eeprom", "bsp_image"], checks)
    assert rec.ran == ["bsp_image", "power_meter", "rcm", "serial_alive", "eeprom"]


def test_a_need_in_a_later_stage_is_a_usage_error() -> None:
    rec = Recorder()
    checks = rec.standard()
    checks["early"] = rec.check("early", STAGE_HOST, ("eeprom",))
    with pytest.raises(UsageError, match="later stage"):
        run_preflight(["early"], checks)
