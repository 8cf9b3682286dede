"""``--jetson-boot-cycles N``: N boot cycles of each DUT as test items ``boot-cycle-01`` …

They run after the flash steps (or alone, from the image the board has). Each reboots the
board, validates every boot stage with its deadline and bad patterns, and records the stage
timings; a boot that fails is a product failure of that cycle, the bench failing is an infra
error. Later cycles still run after a failed one (the next reboot starts afresh). Every cycle's
record travels in its report as the ``boot_cycle`` property, so ``results.json`` has it under
pytest-xdist too.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_jetson.errors import ConfigError, JetsonError
from pytest_jetson.plugin.session import get_session
from pytest_jetson.plugin.steps import DutItem, StepFailed

CYCLE_PROPERTY = "boot_cycle"
CYCLES_KEY = pytest.StashKey[dict[str, Any]]()


class BootCycleItem(DutItem):
    """One boot cycle of one DUT."""

    def __init__(self, *, index: int, count: int, dut_name: str, **kwargs: Any) -> None:
        super().__init__(step=f"boot-cycle-{index:02d}", dut_name=dut_name, **kwargs)
        self.index = index
        self.count = count

    def runtest(self) -> None:
        """Run the cycle; skip when the DUT is unavailable or its flash failed."""
        state = self.state
        if self.dut_name in state.unavailable:
            self._skip(f"DUT {self.dut_name} could not be locked for this session")
        try:
            flow = state.flow(self.dut_name)
        except ConfigError as exc:
            raise StepFailed(str(exc)) from None
        if flow.failed_step is not None:
            self._skip(f"step '{flow.failed_step}' failed for DUT {self.dut_name}")
        from pytest_jetson.cycles.run import BootCycles, CycleFailed, CycleInfraFailed

        cycles: dict[str, Any] = self.config.stash.setdefault(CYCLES_KEY, {})
        runner = cycles.get(self.dut_name)
        if runner is None:
            runner = cycles[self.dut_name] = BootCycles(flow, self.count)
        if self.index == 1:
            flow.emit(f"Boot cycles of DUT {self.dut_name}: {self.count} x {runner.reboot}")
        try:
            record = runner.run(self.index, emit=flow.emit)
        except (CycleFailed, CycleInfraFailed) as exc:
            self._property(exc.record.to_json())
            infra = isinstance(exc, CycleInfraFailed)
            text = f"{exc}\n--- console (stage marks) ---\n{exc.record.log}"
            raise StepFailed(flow.dut.redactor(text), infra=infra) from None
        except JetsonError as exc:
            raise StepFailed(flow.dut.redactor(str(exc)), infra=True) from None
        self._property(record.to_json())

    def _skip(self, reason: str) -> None:
        self._property({"index": self.index, "outcome": "skipped", "message": reason})
        pytest.skip(reason)

    def _property(self, data: dict[str, Any]) -> None:
        self.user_properties.append((CYCLE_PROPERTY, json.dumps(data, sort_keys=True)))


def make_cycles(session: pytest.Session, dut_name: str, count: int) -> list[pytest.Item]:
    """The boot-cycle items of one DUT (``boot-cycle-01`` …)."""
    state = get_session(session.config)
    deadlines = state.deadlines_for(dut_name) if state is not None else None
    items: list[pytest.Item] = []
    for index in range(1, count + 1):
        item = BootCycleItem.from_parent(
            session,
            name=f"boot-cycle-{index:02d}",
            nodeid=f"jetson-cycles[{dut_name}]::boot-cycle-{index:02d}",
            index=index,
            count=count,
            dut_name=dut_name,
        )
        if deadlines is not None:
            budget = deadlines.boardctl + deadlines.boot + deadlines.login + 60.0
            item.add_marker(pytest.mark.timeout(budget, method="signal"))
        items.append(item)
    return items
