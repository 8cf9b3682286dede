"""The recovery ladder in a session: climbed when the bench loses a DUT (a silent console
between tests or after a flash), recorded in the summary and as a JUnit property, and a
quarantine record when it runs out.

A healed DUT lets the run go on where it was; the symptom is still reported as the bench's
(terminal line, JUnit property ``jetson_recovery``, the summary's ``recovery`` list with
``failure_class: infra``), never hidden.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_jetson.dut import Dut
    from pytest_jetson.plugin.session import JetsonSession
    from pytest_jetson.preflight.checks import CheckOutcome
    from pytest_jetson.recovery.ladder import Action, Climb

RECOVERY_PROPERTY = "jetson_recovery"
"""JUnit property of a test or step during which the ladder was climbed: the symptom and each
rung."""


def run_name(state: JetsonSession) -> str:
    """This run, as a quarantine record names it: the pytest process, its host, its artifacts."""
    return f"pytest pid {os.getpid()} on {socket.gethostname()} ({state.artifacts})"


def climb_for(
    state: JetsonSession, dut: Dut, symptom: str, *, probe: Callable[[], None] | None = None
) -> Climb:
    """Climb the DUT's ladder for a bench symptom. After each rung ``probe`` checks the DUT
    answers (default: the console prints within the ``recovery`` deadline, then a login
    within the ``boot`` deadline). The climb goes to the summary; a ladder that runs out
    quarantines an inventory DUT."""
    from pytest_jetson.drivers.usb import poll_for_rcm
    from pytest_jetson.recovery.ladder import bench_rungs, climb

    flow = state.flow(dut.name)

    def prepare() -> None:
        dut.console().discard()
        flow.reset_boot()
        flow.mark_reset()

    def answers() -> None:
        flow.console_answers(dut.deadlines.recovery)
        flow.drop_shell()
        flow.shell(timeout=dut.deadlines.boot)

    def wait_rcm() -> None:
        poll_for_rcm(dut.side.usb, dut.entry.profile.chip, timeout=dut.deadlines.rcm)

    rungs = bench_rungs(
        dut.entry.ladder, dut.boardctl(), wait_rcm=wait_rcm, reflash=reflash_rung(state, dut)
    )
    state.emit(f"jetson recovery {dut.name}: {symptom}; climbing {', '.join(dut.entry.ladder)}")
    result = climb(symptom, rungs, probe or answers, prepare=prepare)
    flow.record_recovery(result.as_dict())
    state.emit(f"jetson recovery {dut.name}: {dut.redactor(result.describe())}")
    if not result.healed:
        quarantine(state, dut, result)
    return result


def climb_for_rcm(state: JetsonSession, dut: Dut, lost: CheckOutcome) -> tuple[CheckOutcome, Climb]:
    """The RCM check found the bench unable to reach the DUT (boardctl failed, or the DUT did
    not show in RCM when asked): climb the ladder, each rung probed by the RCM check itself
    (boardctl recovery, the DUT seen in RCM). Returns the check's outcome (the pass after a
    rung that healed, else ``lost``) and the climb."""
    from pytest_jetson.errors import BenchError

    outcomes = [lost]

    def rcm_again() -> None:
        dut.forget("rcm")
        again = next(o for o in dut.preflight(["rcm"], flow_tool=None) if o.name == "rcm")
        outcomes.append(again)
        if not again.passed:
            raise BenchError(f"still: {again.message.splitlines()[0]}")

    symptom = dut.redactor(f"preflight rcm: {lost.message.splitlines()[0]}")
    result = climb_for(state, dut, symptom, probe=rcm_again)
    if not result.healed:
        dut.outcomes["rcm"] = lost  # the symptom stays the outcome of the check
        return lost, result
    return outcomes[-1], result


def reflash_rung(state: JetsonSession, dut: Dut) -> Action | str:
    """The ``reflash`` rung's action: the DUT's known-good image through the flash flow, its
    boot validated (logs in ``<artifacts>/<dut>/known-good/``); or why there is none."""
    good = dut.entry.known_good
    if good is None:
        return "no known_good image in the bench inventory"
    if dut.entry.labgrid is not None:
        return "not on a remote (labgrid) bench"
    if good.bsp_image is None:
        return "the known_good profile names no bsp_image"
    from pytest_jetson.recovery.reflash import under_test

    candidate = dut.lft if state.config.getoption("jetson_flash") else None
    why = under_test(good.bsp_image.lft, candidate)
    if why is not None:
        return why

    def reflash() -> None:
        from pytest_jetson.flash.procedure import FlashFlow
        from pytest_jetson.recovery.reflash import flash_known_good

        entry = replace(dut.entry, profile=good, known_good=None)
        twin = dut.with_image(entry, state.bench_side(entry), dut.artifacts / "known-good")
        flow = FlashFlow(twin, emit=state.emit, lock_dir=state.lock_dir())
        try:
            state.emit(f"jetson recovery {dut.name}: {flash_known_good(flow)}")
        finally:
            twin.close()
        dut.forget("rcm", "eeprom")

    return reflash


def quarantine(state: JetsonSession, dut: Dut, result: Climb) -> None:
    """Record the DUT quarantined (inventory DUTs; a plugin's built-in DUTs, like the
    simulator's, are private to the session)."""
    if state.inventory is None or dut.name not in state.inventory.duts:
        return
    reason = f"recovery ladder ran out: {dut.redactor(result.describe())}"
    record = state.quarantine(dut.name).put(dut.name, reason, run_name(state))
    state.emit(f"jetson quarantine: {record.describe()}")
