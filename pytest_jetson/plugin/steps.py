"""``--jetson-flash``: the flash and boot steps as ordered test items before the collected tests
(then the ``--jetson-boot-cycles`` items of :mod:`.cycles`).

Steps: the four preflights, ``plan``, ``recovery``, ``flash``, ``post-flash-reset``, the boot
stages (``mb1``, ``mb2``, ``uefi``, ``kernel``, ``login``) and ``release``. When one fails, the
later steps skip naming it, and the ordinary tests skip rather than run against a stale image.
A failure prints a domain message (what failed, the log tail, the log path), not a traceback.
"""

from __future__ import annotations

from functools import partial
from typing import Any, NoReturn

import pytest

from pytest_jetson.dut import Deadlines
from pytest_jetson.errors import BenchError, ConfigError, DutError, JetsonError
from pytest_jetson.flash.procedure import BOOT_STAGES, PREFLIGHT_STEPS, STEPS, FlashFlow
from pytest_jetson.plugin.session import JetsonSession, get_session
from pytest_jetson.recovery.quarantine import Quarantined

PLAN_ONLY_STEPS = (*tuple(f"preflight-{n}" for n in PREFLIGHT_STEPS), "plan")


class StepFailed(Exception):
    """A flow step failed; the message is what the user reads.

    ``infra`` says the bench, not the product, failed (reported as an error with
    ``failure_class=infra``).
    """

    def __init__(self, message: str, *, infra: bool = False) -> None:
        super().__init__(message)
        self.infra = infra


QUARANTINED = pytest.StashKey[dict[str, str]]()
"""Quarantined DUTs whose first step reported it: DUT → the reason."""
STEP_RUNS = pytest.StashKey[dict[tuple[str, str], str]]()
"""The steps run in this session, by (DUT, step): ``passed``, ``skipped``, ``failed``, ``infra``."""


class DutItem(pytest.Item):
    """An item of one DUT's flow that pytest-jetson makes (a step, a boot cycle): named
    ``step``, marked ``jetson_step``, requesting no fixture."""

    fixturenames: tuple[str, ...] = ()
    """Such an item requests no fixture; other plugins (labgrid's) read this of every item."""

    def __init__(self, *, step: str, dut_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.step = step
        self.dut_name = dut_name
        self.add_marker(pytest.mark.jetson_step)

    @property
    def state(self) -> JetsonSession:
        """The plugin's session state."""
        state = get_session(self.config)
        assert state is not None
        return state

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        """A domain message instead of a traceback."""
        if isinstance(excinfo.value, (StepFailed, JetsonError)):
            return f"jetson {self.step} [{self.dut_name}]: {excinfo.value}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Any, int | None, str]:
        """Where the item shows in reports."""
        return self.path, None, f"jetson {self.dut_name}: {self.step}"


class JetsonStep(DutItem):
    """One step of the flash-and-boot flow of one DUT."""

    def runtest(self) -> None:
        """Run the step (skipping when an earlier step failed, refusing a retry or a step whose
        predecessors did not run in this session)."""
        state = self.state
        if self.dut_name in state.unavailable:
            pytest.skip(f"DUT {self.dut_name} could not be locked for this session")
        try:
            flow = state.flow(self.dut_name)
        except ConfigError as exc:
            raise StepFailed(str(exc)) from None
        except Quarantined as exc:
            _quarantined(self.config, self.dut_name, exc)
        except KeyboardInterrupt as exc:  # while the DUT was being locked or set up
            _interrupted_before_flow(state, self.dut_name, self.step, interrupt_cause(exc))
            raise
        runs = self.config.stash.setdefault(STEP_RUNS, {})
        key = (self.dut_name, self.step)
        if key in runs:  # a plugin (pytest-rerunfailures, ...) runs the item again
            raise StepFailed(
                f"step '{self.step}' already ran for DUT {self.dut_name} in this session "
                f"({runs[key]}): a flash step is never retried",
                infra=runs[key] == "infra",
            )
        runs[key] = "failed"
        if flow.failed_step is not None:
            runs[key] = "skipped"
            pytest.skip(f"step '{flow.failed_step}' failed for DUT {self.dut_name}")
        self._require_predecessors(flow, runs)
        try:
            benign = self._guarded_run(flow)
        except StepFailed as exc:
            runs[key] = "infra" if exc.infra else "failed"
            raise
        runs[key] = "passed"
        if benign is not None:
            pytest.skip(benign)

    def _require_predecessors(self, flow: FlashFlow, runs: dict[tuple[str, str], str]) -> None:
        """Every earlier step of this DUT must have run in this session, whatever selected or
        deselected items (``--lf``, ``-k``, node ids, plugins): never flash unchecked."""
        steps = PLAN_ONLY_STEPS if self.config.getoption("jetson_plan_only") else STEPS
        for earlier in steps[: steps.index(self.step)]:
            if runs.get((self.dut_name, earlier)) != "passed":
                message = (
                    f"refusing to run step '{self.step}' for DUT {self.dut_name}: step "
                    f"'{earlier}' did not run in this session (deselected by --lf, -k, a node "
                    "id or a plugin?); the flash steps run only as a whole flow"
                )
                flow.fail(self.step, message)
                raise StepFailed(message)

    def _guarded_run(self, flow: FlashFlow) -> str | None:
        """Run the step, recording a failure in the flow and turning it into :class:`StepFailed`."""
        try:
            return self._run(flow)
        except pytest.skip.Exception as exc:
            flow.fail(self.step, f"skipped: {exc.msg}", outcome="skipped")
            raise
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (Terminated): not a failure
            flow.interrupt(self.step, interrupt_cause(exc))
            raise
        except (JetsonError, StepFailed) as exc:
            message = flow.dut.redactor(str(exc))
            flow.fail(self.step, message)
            if isinstance(exc, BenchError) and self.step in (
                "recovery",
                "flash",
                "post-flash-reset",
            ):
                flow.dut.latch_broken(f"{self.step}: {message.splitlines()[0]}", exc)
            raise StepFailed(message, infra=isinstance(exc, BenchError) or _infra(exc)) from None
        except BaseException as exc:
            flow.fail(self.step, f"{type(exc).__name__}: {exc}")
            if isinstance(exc, pytest.fail.Exception) and "pytest-timeout" in str(exc):
                raise StepFailed(
                    f"{exc} The step's own deadline should have fired first: the bench or one "
                    f"of its tools hung (logs in {flow.dut.artifacts})",
                    infra=True,
                ) from None
            raise

    def _run(self, flow: FlashFlow) -> str | None:
        """Run the step; a returned string is a benign skip reason (the flow goes on)."""
        from pytest_jetson.plugin.outcomes import apply_outcome

        step = self.step
        if step.startswith("preflight-"):
            outcome = self._reach(flow, flow.preflight(step.removeprefix("preflight-")))
            _unavailable_is_infra(flow, outcome)
            apply_outcome(self.config, flow.dut, outcome)
        elif step == "plan":
            self._plan(flow)
        elif step == "recovery":
            outcome = self._reach(flow, flow.recovery())
            _unavailable_is_infra(flow, outcome)
            apply_outcome(self.config, flow.dut, outcome)
        elif step == "flash":
            verified = flow.flash_or_verify()
            self._properties(flow)
            return verified
        elif step == "post-flash-reset":
            if flow.skipped:
                return "flash skipped: the board was booted to verify it"
            if flow.post_flash_reset() is None:
                chip = flow.dut.entry.profile.chip.catalogue_id
                return f"not needed on {chip}: the flash tool resets the board itself"
        elif step in BOOT_STAGES:
            mark = self._boot_stage(flow)
            if not mark.seen:
                # A pass, never a skip: --jetson-strict must not fail a banner the combined
                # UART lost while the boot went on.
                after = flow.boot_last_seen()
                why = f"marker not seen; {after} was" if after else "marker not seen"
                self.user_properties.append(("not_observed", why))
        elif step == "release":
            if flow.release() is None:
                return "no user staged (OEM wizard on first boot): cannot log in to check"
        else:  # pragma: no cover - STEPS is closed
            raise StepFailed(f"unknown step {step}")
        return None

    def _reach(self, flow: FlashFlow, outcome: Any) -> Any:
        """An RCM check the bench could not complete (boardctl failed, the DUT not seen in
        RCM) climbs the recovery ladder, each rung probed by the check itself; a rung that
        heals lets the flow go on (the climb is the step's ``jetson_recovery`` property)."""
        if outcome.name != "rcm" or outcome.status != "unavailable" or not outcome.ran:
            return outcome
        from pytest_jetson.plugin.recovery import RECOVERY_PROPERTY, climb_for_rcm

        outcome, result = climb_for_rcm(self.state, flow.dut, outcome)
        self.user_properties.append((RECOVERY_PROPERTY, result.describe()))
        if result.healed:
            flow.healed(self.step, f"after the ladder's {result.healed_by}: {outcome.message}")
        return outcome

    def _boot_stage(self, flow: FlashFlow) -> Any:
        """The boot stage; a console silent since the reset (a bench symptom: the image never
        got to print) climbs the recovery ladder. A rung that brings the console back lets
        the stage go on, validated on the new boot from its start; a reflash put the
        known-good image on the board instead of the candidate, so the step still fails (the
        bench's failure); a ladder that runs out fails with the symptom."""
        from pytest_jetson.console.errors import ConsoleSilent
        from pytest_jetson.plugin.recovery import RECOVERY_PROPERTY, climb_for

        try:
            return flow.boot_stage(self.step)
        except ConsoleSilent as exc:
            dut = flow.dut
            symptom = dut.redactor(f"{self.step}: {str(exc).splitlines()[0]}")
            result = climb_for(
                self.state,
                dut,
                symptom,
                probe=partial(flow.console_answers, dut.deadlines.recovery),
            )
            self.user_properties.append((RECOVERY_PROPERTY, result.describe()))
            if not result.healed:
                dut.latch_broken(f"{self.step}: {symptom}", exc)
                raise
            if result.healed_by == "reflash":
                raise StepFailed(
                    f"{symptom}\nthe board came back only when its known-good image was "
                    "reflashed: the candidate's boot could not be validated",
                    infra=True,
                ) from exc
            return flow.boot_stage(self.step)

    def _plan(self, flow: FlashFlow) -> None:
        plan = flow.plan()
        self._properties(flow)
        flow.emit("\n" + plan.render())
        if self.config.getoption("jetson_plan_only"):
            flow.planned()  # a clean success: the plan is in summary.json, nothing is flashed
            flow.emit(
                "--jetson-plan-only: plan printed, stopping before recovery (nothing flashed)"
            )
            return
        hook: Any = self.config.hook
        accepted = hook.pytest_jetson_accept_plan(config=self.config, plan=plan, digest=plan.digest)
        if not accepted:
            from pytest_jetson.flash.plan import Acceptance

            message = Acceptance(self.config.getoption("jetson_accept_plan")).refusal(plan)
            flow.refuse(message)
            raise StepFailed(message)

    def _properties(self, flow: FlashFlow) -> None:
        plan = flow.plan_
        props = [("dut", flow.dut.name)]
        if plan is not None:
            props += [
                ("release", plan.version),
                ("eeprom", " ".join(f"{k}={v}" for k, v in plan.eeprom.items())),
                ("plan_digest", plan.digest),
            ]
        for prop in props:
            if prop not in self.user_properties:
                self.user_properties.append(prop)


def interrupt_cause(exc: BaseException) -> str:
    """What interrupted the run, as the summary says it."""
    from pytest_jetson.plugin.terminate import Terminated

    return "SIGTERM received" if isinstance(exc, Terminated) else "Ctrl-C (SIGINT)"


def _interrupted_before_flow(state: JetsonSession, dut: str, step: str, why: str) -> None:
    """Write the summary of a DUT interrupted before its flow existed (while its lock was
    awaited, its bench entry resolved or its simulated board started)."""
    from pytest_jetson.flash.tool import FlashSummary

    summary = FlashSummary(
        dut=dut,
        plan={},
        plan_digest="",
        outcome="interrupted",
        message=f"interrupted during step '{step}': {why}",
    )
    summary.steps.append({"step": step, "outcome": "interrupted", "message": why})
    summary.finished = summary.started
    try:
        summary.write(state.artifacts / dut / "summary.json")
    except JetsonError as exc:
        state.emit(f"jetson summary {dut}: {exc}")


def _quarantined(config: pytest.Config, name: str, exc: Quarantined) -> NoReturn:
    """A quarantined DUT's first step is its infra error naming the reason; its later steps
    and tests skip naming it (never touched: no lock, no tool)."""
    reported = config.stash.setdefault(QUARANTINED, {})
    if name in reported:
        pytest.skip(f"DUT {name} is quarantined: {reported[name]}")
    reported[name] = str(exc).splitlines()[0]
    raise StepFailed(str(exc), infra=True) from None


def _infra(exc: BaseException) -> bool:
    return isinstance(exc, StepFailed) and exc.infra


def _unavailable_is_infra(flow: FlashFlow, outcome: Any) -> None:
    """In the flash flow an unavailable bench is an infrastructure failure, not a skip:
    the job asked to flash and could not (a marker on a test would skip instead)."""
    if outcome.status == "unavailable":
        failed = StepFailed(flow.dut.redactor(str(outcome)), infra=True)
        if outcome.name in ("rcm", "eeprom") and outcome.ran:
            reason = f"preflight {outcome.name}: {outcome.message.splitlines()[0]}"
            flow.dut.latch_broken(reason, failed)
        raise failed


def step_timeout(step: str, deadlines: Deadlines) -> float:
    """The pytest-timeout backstop of a step: its own deadlines plus a margin, so the
    step's deadline (which kills tools cleanly) always fires first."""
    d = deadlines
    budget = {
        "preflight-bsp_image": 60.0,
        "preflight-rcm": d.boardctl + d.rcm,
        "preflight-eeprom": d.boardctl + d.rcm + d.eeprom,
        "preflight-default_user": d.default_user,
        "plan": 60.0,
        "recovery": d.boardctl + d.rcm,
        "flash": d.flash,
        "post-flash-reset": d.boardctl + d.boot,
        "release": 3 * d.login,
    }.get(step, d.boot)
    return budget + 60.0


def make_steps(session: pytest.Session, dut_name: str, steps: tuple[str, ...]) -> list[pytest.Item]:
    """The step items of one DUT."""
    state = get_session(session.config)
    deadlines = state.deadlines_for(dut_name) if state is not None else None
    items: list[pytest.Item] = []
    for index, step in enumerate(steps, 1):
        item = JetsonStep.from_parent(
            session,
            name=f"{index:02d}-{step}",
            nodeid=f"jetson-flash[{dut_name}]::{index:02d}-{step}",
            step=step,
            dut_name=dut_name,
        )
        if deadlines is not None:
            item.add_marker(pytest.mark.timeout(step_timeout(step, deadlines), method="signal"))
        items.append(item)
    return items


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Put the flow's steps before every collected test (after deselection)."""
    state = get_session(config)
    if state is None:
        return
    from pytest_jetson.plugin.cycles import make_cycles
    from pytest_jetson.plugin.markers import item_dut

    plan_only = config.getoption("jetson_plan_only")
    flash = config.getoption("jetson_flash")
    steps = PLAN_ONLY_STEPS if plan_only else STEPS if flash else ()
    cycles = 0 if plan_only else config.getoption("jetson_boot_cycles")
    if plan_only and items:
        config.hook.pytest_deselected(items=list(items))
        items[:] = []
    ordered: list[pytest.Item] = []
    rest = list(items)
    for name in state.dut_names:
        # Each DUT: its steps, then the tests that run against it (one worker per DUT).
        mine = [i for i in rest if getattr(i, "callspec", None) and item_dut(i, "") == name]
        rest = [i for i in rest if i not in mine]
        ordered += make_steps(session, name, steps) + make_cycles(session, name, cycles) + mine
    items[:] = ordered + rest


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Ordinary tests skip when the flash flow failed (never run against a stale image)."""
    if isinstance(item, JetsonStep) or item.get_closest_marker("jetson_step"):
        return
    state = get_session(item.config)
    if state is None:
        return
    from pytest_jetson.plugin.markers import item_dut
    from pytest_jetson.plugin.outcomes import skip_or_fail

    name = item_dut(item, state.default_dut)
    if name in state.unavailable:
        skip_or_fail(item.config, f"DUT {name} could not be locked for this session")
    quarantined = item.config.stash.get(QUARANTINED, {})
    if name in quarantined:
        skip_or_fail(item.config, f"DUT {name} is quarantined: {quarantined[name]}")
    flow = state.flows.get(name)
    if flow is not None and flow.failed_step is not None:
        skip_or_fail(
            item.config,
            f"flash flow of DUT {flow.dut.name} failed at step '{flow.failed_step}': "
            "not running against a stale image",
        )


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """A failed step fails the session whatever other plugins made of its report (a rerun that
    skipped, a plugin that swallowed it): the exit status agrees with ``summary.json``."""
    runs = session.config.stash.get(STEP_RUNS, {})
    if session.exitstatus == pytest.ExitCode.OK and any(
        outcome in ("failed", "infra") for outcome in runs.values()
    ):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


__all__ = ["STEPS", "DutError", "JetsonStep", "make_steps"]
