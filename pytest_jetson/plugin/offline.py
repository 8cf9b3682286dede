"""``python -m pytest_jetson plan --dut NAME``: the plan of a bench DUT, without touching it.

A DUT is resolved through the same hooks as a test session (the bench inventory, a bench's
``conftest.py``, the simulator's plugin), so the command runs pytest's configuration in this
process and stops where collection would start: no lock is taken, no board, USB device or console is
opened. The plan is built by the flow's own :func:`~pytest_jetson.flash.procedure.plan_for`, so
its digest equals the one ``--jetson-flash --jetson-plan-only`` prints for the same EEPROM.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pytest_jetson.errors import JetsonError, UsageError
from pytest_jetson.flash.offline import OfflinePlan, eeprom_board, predicted_staging

EXIT_PLANNED, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


class OfflinePlanPlugin:
    """Resolves one DUT at session start, prints its plan and ends the session."""

    def __init__(self, dut: str, eeprom: str | None, emit: Callable[[OfflinePlan], None]) -> None:
        self.dut = dut
        self.eeprom = eeprom
        self.emit = emit
        self.status = EXIT_USAGE

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> None:
        """Plan, print, and stop instead of collecting."""
        try:
            offline = self._plan(session.config)
        except UsageError as exc:
            self.status = EXIT_USAGE
            raise pytest.exit(f"error: {exc}", returncode=EXIT_USAGE) from None
        except JetsonError as exc:
            self.status = EXIT_REFUSED
            raise pytest.exit(f"refused: {exc}", returncode=EXIT_REFUSED) from None
        self.emit(offline)
        self.status = EXIT_REFUSED if offline.refused else EXIT_PLANNED
        raise pytest.exit("plan printed", returncode=self.status)

    def _plan(self, config: pytest.Config) -> OfflinePlan:
        from pytest_jetson.dut import Dut
        from pytest_jetson.flash.procedure import plan_for
        from pytest_jetson.flash.resolve import resolve
        from pytest_jetson.plugin.session import get_session

        state = get_session(config)
        if state is None:
            raise UsageError("no DUT selected")
        entry = state.entry(self.dut)
        dut = Dut(
            entry=entry,
            side=state.bench_side(entry),
            artifacts=state.artifacts / self.dut,
            deadlines=state.deadlines_for(self.dut, entry.deadlines),
        )
        board, source = eeprom_board(self.eeprom, entry.profile)
        resolution = resolve(
            entry.profile,
            dut.host_lft,
            board=board,
            boot_device=entry.boot_device_resolved,
            usb_port=dut.side.usb_instance(None),
        )
        staging = predicted_staging(dut.host_lft, entry.default_user)
        plan = plan_for(dut, resolution, staging=staging, eeprom_source=source)
        return OfflinePlan(plan, resolution, bench=True, lft=dut.host_lft)


def plan_dut(
    dut: str, *, eeprom: str | None, options: list[str], emit: Callable[[OfflinePlan], None]
) -> int:
    """Run pytest's configuration for ``--dut dut`` (plus ``options``) and plan it."""
    plugin = OfflinePlanPlugin(dut, eeprom, emit)
    args = ["-p", "no:cacheprovider", "-p", "no:terminal", f"--dut={dut}", *options]
    code = pytest.main(args, plugins=[plugin])
    if code == pytest.ExitCode.USAGE_ERROR:
        return EXIT_USAGE
    return plugin.status if plugin.status != EXIT_USAGE else int(code)


__all__ = ["EXIT_PLANNED", "EXIT_REFUSED", "EXIT_USAGE", "OfflinePlanPlugin", "plan_dut"]
