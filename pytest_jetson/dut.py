"""One DUT on a bench: the bench entry, its tools, its state and the broken latch.

A :class:`Dut` ties the profile and bench wiring to the tools (boardctl, RCM detection, EEPROM,
preflight, console). Its state (``unknown`` → ``recovery`` → ``flashed`` → ``booted``, back to
``recovery`` whenever the board is seen in RCM again) changes only through
:meth:`Dut.transition`. The first bench failure latches it *broken*, keeping the exception;
after that every transition refuses with a :class:`~pytest_jetson.errors.BenchError` chained to
that original exception instead of hammering the board (labgrid's ``never_retry`` strategy).
It never imports pytest: the plugin layer turns the latch into skips and failures.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pytest_jetson.bench import BenchEntry
from pytest_jetson.errors import BenchError, JetsonError
from pytest_jetson.host.redact import Redactor

if TYPE_CHECKING:
    from pytest_jetson.catalogue import ChipFamily
    from pytest_jetson.console import SerialConsole
    from pytest_jetson.drivers.boardctl import Boardctl
    from pytest_jetson.drivers.side import BenchSide
    from pytest_jetson.drivers.usb import RcmDevice
    from pytest_jetson.preflight.checks import CheckOutcome, PreflightCheck
    from pytest_jetson.preflight.findings import Findings

State = Literal["unknown", "recovery", "flashed", "booted"]

TRANSITIONS: Mapping[State, frozenset[State]] = {
    "unknown": frozenset({"recovery"}),
    "recovery": frozenset({"recovery", "flashed"}),
    "flashed": frozenset({"recovery", "booted"}),
    "booted": frozenset({"recovery"}),
}
"""The states each state may change to: a board seen in RCM is in recovery whatever it did
before; only a board in recovery is flashed; only a flashed board boots the new image."""


class StateError(JetsonError):
    """A transition the state machine does not have (a bug in the caller, not the bench)."""


@dataclass(frozen=True)
class Deadlines:
    """Every wait of the flow has a deadline (seconds); the plan and reports show them."""

    boardctl: float = 120.0
    rcm: float = 60.0
    eeprom: float = 180.0
    default_user: float = 300.0
    flash: float = 3600.0
    boot: float = 300.0
    """The whole boot, reset to login prompt; each stage also has its own (see boot.py)."""
    login: float = 60.0
    recovery: float = 30.0
    """A rung of the recovery ladder: from its reset or power-on to the first console byte (a
    Jetson prints its first boot-ROM/MB1 lines within seconds of leaving reset); the login
    after that has the ``boot`` deadline."""

    def as_dict(self) -> dict[str, float]:
        """The deadlines by step name."""
        return dict(self.__dict__)


@dataclass
class Dut:
    """A DUT of the bench, as the flow and the fixtures drive it.

    ``side`` is its bench side (this host, or a labgrid exporter over SSH): every tool runs
    through it, so nothing here asks whether the bench is remote.
    """

    entry: BenchEntry
    side: BenchSide
    artifacts: Path
    """This DUT's artifacts folder (logs, summary JSON)."""
    deadlines: Deadlines = field(default_factory=Deadlines)
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    extra_checks: Mapping[str, PreflightCheck] = field(default_factory=dict)
    state: State = "unknown"
    """Change it with :meth:`transition` only."""
    broken: str | None = None
    """Why the DUT was latched broken (the first bench failure), or None."""
    broken_by: BaseException | None = None
    """The exception that latched it, chained to every later refusal."""
    outcomes: dict[str, CheckOutcome] = field(default_factory=dict)
    redactor: Redactor = field(default_factory=Redactor)
    _console: SerialConsole | None = None
    _shared_console: bool = False

    @property
    def name(self) -> str:
        """The DUT's name (``thor-01``)."""
        return self.entry.name

    @property
    def profile(self) -> Any:
        """The DUT's profile."""
        return self.entry.profile

    @property
    def lft(self) -> Path:
        """The Linux_for_Tegra tree that is flashed (on the bench host for a remote bench)."""
        return self.side.lft

    @property
    def host_lft(self) -> Path:
        """The tree the pytest host reads (conf chain, release, 5.1 checks): :attr:`lft`, or
        the local view of the bench host's tree."""
        return self.side.view

    @property
    def bench_host(self) -> str:
        """Where the image is flashed from, for reports: ``local`` or ``host:/path/LFT``."""
        return self.side.where

    def outward(self, text: str) -> str:
        """``text`` with local view paths shown as the bench host's."""
        return self.side.outward(text)

    def find_rcm(self, chip: ChipFamily | None = None) -> RcmDevice | None:
        """The DUT in RCM now (its USB port here, or the place's USB resource), or None."""
        return self.side.usb.look(chip or self.entry.profile.chip).found

    @property
    def sudo(self) -> bool:
        """The privilege rule: every in-tree tool (boardctl, the EEPROM read, the default-user
        script, the flow tool) runs through ``sudo -n`` unless the side runs it as root."""
        return True

    def log(self, name: str) -> Path:
        """The path of log ``name`` in the artifacts folder."""
        self.artifacts.mkdir(parents=True, exist_ok=True)
        return self.artifacts / name

    # --- states and the broken latch ----------------------------------------------------

    def transition(self, to: State) -> None:
        """Move to state ``to``.

        Raises :class:`BenchError` from the latching exception when the DUT is broken, and
        :class:`StateError` naming the DUT and both states for a transition that does not
        exist (see :data:`TRANSITIONS`).
        """
        if self.broken is not None:
            raise BenchError(
                f"DUT {self.name} is broken: {self.broken} (not moving to {to})"
            ) from self.broken_by
        if to not in TRANSITIONS[self.state]:
            allowed = ", ".join(sorted(TRANSITIONS[self.state]))
            raise StateError(
                f"DUT {self.name}: cannot go from {self.state} to {to} (from {self.state} "
                f"only to: {allowed})"
            )
        self.state = to

    def latch_broken(self, reason: str, cause: BaseException | None = None) -> None:
        """Remember the first bench failure (``reason``, and the exception ``cause`` when
        there is one); later transitions refuse with it."""
        if self.broken is None:
            self.broken = reason
            self.broken_by = cause

    # --- tools --------------------------------------------------------------------------

    def boardctl(self) -> Boardctl | None:
        """The DUT's in-tree boardctl, or None for manual recovery.

        The one place boardctl is built: the RCM check, the post-flash reset and the teardown
        all run it through the bench side with the same privileges (:attr:`sudo`).
        """
        if self.entry.recovery == "manual" or not self.entry.boardctl_target:
            return None
        from pytest_jetson.drivers.boardctl import Boardctl

        return Boardctl(
            self.side,
            self.entry.boardctl_target,
            serial=self.entry.boardctl_serial,
            index=self.entry.boardctl_index,
            timeout=self.deadlines.boardctl,
            log=self.log("boardctl.log"),
            sudo=self.sudo,
        )

    def checks(self, flow_tool: str | None) -> dict[str, PreflightCheck]:
        """The built-in preflight checks plus the bench's own (from the hook)."""
        from pytest_jetson.preflight.checks import standard_checks

        checks = standard_checks(self, flow_tool=flow_tool)
        checks.update(self.extra_checks)
        return checks

    def preflight(self, names: Iterable[str], *, flow_tool: str | None) -> tuple[CheckOutcome, ...]:
        """Run preflight checks in the mandated order, each at most once per session."""
        from pytest_jetson.preflight.checks import run_preflight

        outcomes = tuple(
            replace(o, message=self.outward(o.message), fix=self.outward(o.fix))
            for o in run_preflight(names, self.checks(flow_tool), done=self.outcomes)
        )
        for outcome in outcomes:
            self.outcomes.setdefault(outcome.name, outcome)
            if outcome.name == "rcm" and outcome.passed:
                self.transition("recovery")
        return outcomes

    @property
    def findings(self) -> Findings:
        """What the preflight found out so far (RCM device, EEPROM, default user), typed."""
        from pytest_jetson.preflight.findings import Findings

        return Findings.of(outcome.finding for outcome in self.outcomes.values())

    def forget(self, *names: str) -> None:
        """Drop cached outcomes so the checks run again (after a flash, RCM is gone)."""
        for name in names:
            self.outcomes.pop(name, None)

    # --- console ------------------------------------------------------------------------

    def console(
        self, *, opener: Callable[[str, int, Path], SerialConsole] | None = None
    ) -> SerialConsole:
        """The DUT's serial console (its bench side's port), opened once and kept open for
        the session."""
        if self._console is None:
            port, baud = self.side.console_port()
            from pytest_jetson.console import SerialConsole

            open_ = opener or (
                lambda port, baud, log: SerialConsole.open(port, baudrate=baud, log=log)
            )
            self._console = open_(port, baud, self.log("console.log"))
        return self._console

    def with_image(self, entry: BenchEntry, side: BenchSide, artifacts: Path) -> Dut:
        """The same board with another image (``entry``'s profile, flashed from ``side``),
        as the recovery ladder's reflash sees it: it shares this DUT's console (one reader per
        port), its deadlines, environment and redactor, and keeps its logs in ``artifacts``.
        Closing it leaves the shared console open."""
        twin = Dut(
            entry=entry,
            side=side,
            artifacts=artifacts,
            deadlines=self.deadlines,
            env=self.env,
            extra_checks=self.extra_checks,
            redactor=self.redactor,
        )
        twin._console = self.console()
        twin._shared_console = True
        return twin

    def close(self) -> None:
        """Close the console (idempotent)."""
        if self._shared_console:
            self._console = None
            return
        if self._console is not None:
            console, self._console = self._console, None
            console.close()


PREVIOUS = "previous"
"""The sub-folder of a DUT's artifacts that keeps the run before this one."""


def fresh_artifacts(folder: Path) -> None:
    """Start a run's artifacts folder fresh: what an earlier run left there (its logs,
    ``summary.json``) moves into ``previous/``, replacing an older ``previous/``.

    Logs are appended within a run (every boardctl call goes to one ``boardctl.log``), so a
    run that reused the last run's files would show a failed run next to the last run's good
    lines. One generation is kept, so the last good run can still be read after a failure.
    """
    try:
        if not folder.is_dir() or not any(p.name != PREVIOUS for p in folder.iterdir()):
            return
        previous = folder / PREVIOUS
        staging = folder.with_name(f".{folder.name}.{os.getpid()}.previous")
        if previous.is_dir():
            import shutil

            shutil.rmtree(previous)
        os.replace(folder, staging)
        folder.mkdir()
        os.replace(staging, previous)
    except OSError as exc:
        raise BenchError(
            f"cannot set the previous run's artifacts aside in {folder}: "
            f"{exc.strerror or exc}; check the folder's permissions"
        ) from None
