"""The recovery ladder in a session: climbed when a DUT's console stops answering, recorded in
the summary and as a JUnit property, and a quarantine record when it runs out.

A healed DUT lets the test go on; the symptom is still reported (terminal line, JUnit property
``jetson_recovery``, the summary's ``recovery`` list), never hidden.
"""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_jetson.dut import Dut
    from pytest_jetson.plugin.session import JetsonSession
    from pytest_jetson.recovery.ladder import Climb

RECOVERY_PROPERTY = "jetson_recovery"
"""JUnit property of a test during which the ladder was climbed: the symptom and each rung."""


def run_name(state: JetsonSession) -> str:
    """This run, as a quarantine record names it: the pytest process, its host, its artifacts."""
    return f"pytest pid {os.getpid()} on {socket.gethostname()} ({state.artifacts})"


def climb_for(state: JetsonSession, dut: Dut, symptom: str) -> Climb:
    """Climb the DUT's ladder for a silent console: after each rung, the console must print
    within the ``recovery`` deadline and log in within the ``boot`` deadline. The climb goes
    to the summary; a ladder that runs out quarantines an inventory DUT."""
    from pytest_jetson.recovery.ladder import climb

    flow = state.flow(dut.name)

    def probe(deadline: float) -> None:
        dut.console().expect(r"\S", timeout=dut.deadlines.recovery)  # the boot starts
        flow.drop_shell()
        flow.shell(timeout=deadline)

    state.emit(f"jetson recovery {dut.name}: {symptom}; climbing {', '.join(dut.entry.ladder)}")
    result = climb(symptom, dut.entry.ladder, dut.boardctl(), probe, deadline=dut.deadlines.boot)
    flow.record_recovery(
        {"symptom": symptom, "healed": result.healed, "rungs": [r.as_dict() for r in result.rungs]}
    )
    state.emit(f"jetson recovery {dut.name}: {dut.redactor(result.describe())}")
    if not result.healed:
        quarantine(state, dut, result)
    return result


def quarantine(state: JetsonSession, dut: Dut, result: Climb) -> None:
    """Record the DUT quarantined (inventory DUTs; a plugin's built-in DUTs, like the
    simulator's, are private to the session)."""
    if state.inventory is None or dut.name not in state.inventory.duts:
        return
    reason = f"recovery ladder ran out: {dut.redactor(result.describe())}"
    record = state.quarantine().put(dut.name, reason, run_name(state))
    state.emit(f"jetson quarantine: {record.describe()}")
