"""One DUT on a bench: the bench entry, its tools, its state and the broken latch.

A :class:`Dut` ties the profile and bench wiring to the tools (boardctl, RCM detection, EEPROM,
preflight, console). It keeps a small state machine (``unknown`` → ``recovery`` → ``flashed`` →
``booted``) and latches *broken* on the first bench failure, after which everything that needs
the board refuses with the original reason instead of hammering it (labgrid's strategy idea).
It never imports pytest: the plugin layer maps its errors to skips and failures.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pytest_jetson.bench import BenchEntry
from pytest_jetson.errors import BenchError, ConfigError
from pytest_jetson.host.redact import Redactor

if TYPE_CHECKING:
    from pytest_jetson.catalogue import ChipFamily
    from pytest_jetson.console import SerialConsole
    from pytest_jetson.drivers.boardctl import Boardctl
    from pytest_jetson.drivers.usb import RcmDevice
    from pytest_jetson.host.transport import CommandTransport
    from pytest_jetson.preflight.checks import CheckOutcome, PreflightCheck
    from pytest_jetson.remote.side import RemoteBench

State = Literal["unknown", "recovery", "flashed", "booted"]


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

    def as_dict(self) -> dict[str, float]:
        """The deadlines by step name."""
        return dict(self.__dict__)


class DutBroken(BenchError):
    """The DUT was latched broken by an earlier bench failure."""


@dataclass
class Dut:
    """A DUT of the bench, as the flow and the fixtures drive it."""

    entry: BenchEntry
    artifacts: Path
    """This DUT's artifacts folder (logs, summary JSON)."""
    deadlines: Deadlines = field(default_factory=Deadlines)
    usb_backend: Any = None
    """The pyusb backend RCM detection uses (None: libusb's)."""
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    extra_checks: Mapping[str, PreflightCheck] = field(default_factory=dict)
    state: State = "unknown"
    broken: str | None = None
    outcomes: dict[str, CheckOutcome] = field(default_factory=dict)
    redactor: Redactor = field(default_factory=Redactor)
    remote: RemoteBench | None = None
    """The DUT's remote (labgrid) bench; None when it is wired to this host."""
    _console: SerialConsole | None = None

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
        if self.remote is not None:
            return Path(self.remote.lft)
        image = self.entry.profile.bsp_image
        if image is None:
            raise ConfigError(
                f"profile {self.entry.profile.path} has no bsp_image", key="bsp_image"
            )
        return image.lft

    @property
    def host_lft(self) -> Path:
        """The tree the pytest host reads (conf chain, release, 5.1 checks): :attr:`lft`, or
        the local view of the bench host's tree."""
        if self.remote is not None:
            return self.remote.view().local
        return self.lft

    @property
    def transport(self) -> CommandTransport:
        """Where the in-tree tools run: here, or on the bench host over SSH."""
        if self.remote is not None:
            return self.remote.transport
        from pytest_jetson.host.transport import LocalTransport

        return LocalTransport()

    @property
    def bench_host(self) -> str:
        """Where the image is flashed from, for reports: ``local`` or ``host:/path/LFT``."""
        return "local" if self.remote is None else self.remote.where

    def outward(self, text: str) -> str:
        """``text`` with local view paths shown as the bench host's."""
        return text if self.remote is None else self.remote.view().outward(text)

    def find_rcm(self, chip: ChipFamily | None = None) -> RcmDevice | None:
        """The DUT in RCM now (its USB port here, or the place's USB resource), or None."""
        chosen = chip or self.entry.profile.chip
        if self.remote is not None:
            return self.remote.find_rcm(chosen)
        from pytest_jetson.drivers.usb import find_rcm

        return find_rcm(chosen, usb_port=self.entry.usb_port, backend=self.usb_backend)

    def rcm_waiter(self) -> Callable[..., RcmDevice] | None:
        """The RCM wait of a remote bench (None: the local USB wait)."""
        return None if self.remote is None else self.remote.wait_for_rcm

    @property
    def sudo(self) -> bool:
        """Tools run through ``sudo -n`` when we are not root."""
        return True

    def log(self, name: str) -> Path:
        """The path of log ``name`` in the artifacts folder."""
        self.artifacts.mkdir(parents=True, exist_ok=True)
        return self.artifacts / name

    # --- broken latch -------------------------------------------------------------------

    def latch_broken(self, reason: str) -> None:
        """Remember the first bench failure; later work on this DUT refuses with it."""
        if self.broken is None:
            self.broken = reason

    def require_usable(self) -> None:
        """Raise :class:`DutBroken` when the DUT was latched broken."""
        if self.broken is not None:
            raise DutBroken(f"DUT {self.name} is broken: {self.broken}")

    # --- tools --------------------------------------------------------------------------

    def boardctl(self) -> Boardctl | None:
        """The in-tree boardctl for this DUT, or None for manual recovery."""
        if self.entry.recovery == "manual" or not self.entry.boardctl_target:
            return None
        from pytest_jetson.drivers.boardctl import Boardctl

        return Boardctl(
            self.lft,
            self.entry.boardctl_target,
            timeout=self.deadlines.boardctl,
            log=self.log("boardctl.log"),
            sudo=self.sudo,
            transport=None if self.remote is None else self.transport,
        )

    def checks(self, flow_tool: str | None) -> dict[str, PreflightCheck]:
        """The built-in preflight checks plus the bench's own (from the hook)."""
        from pytest_jetson.preflight.checks import standard_checks

        checks = standard_checks(
            self.entry,
            flow_tool=flow_tool,
            env=self.env,
            backend=self.usb_backend,
            rcm_timeout=self.deadlines.rcm,
            boardctl_timeout=self.deadlines.boardctl,
            eeprom_timeout=self.deadlines.eeprom,
            user_timeout=self.deadlines.default_user,
            sudo=self.sudo,
            log_dir=self.artifacts,
            **self._remote_check_args(),
        )
        checks.update(self.extra_checks)
        return checks

    def _remote_check_args(self) -> dict[str, Any]:
        if self.remote is None:
            return {}
        return {
            "transport": self.transport,
            "lft": self.lft,
            "view": self.host_lft,
            "rcm_waiter": self.rcm_waiter(),
        }

    def preflight(self, names: Iterable[str], *, flow_tool: str | None) -> tuple[CheckOutcome, ...]:
        """Run preflight checks in the mandated order, each at most once per session."""
        from pytest_jetson.preflight.checks import run_preflight

        outcomes = run_preflight(names, self.checks(flow_tool), done=self.outcomes)
        if self.remote is not None:
            outcomes = tuple(
                replace(o, message=self.outward(o.message), fix=self.outward(o.fix))
                for o in outcomes
            )
        for outcome in outcomes:
            self.outcomes.setdefault(outcome.name, outcome)
            if outcome.name == "rcm" and outcome.passed:
                self.state = "recovery"
        return outcomes

    def forget(self, *names: str) -> None:
        """Drop cached outcomes so the checks run again (after a flash, RCM is gone)."""
        for name in names:
            self.outcomes.pop(name, None)

    # --- console ------------------------------------------------------------------------

    def console(
        self, *, opener: Callable[[str, int, Path], SerialConsole] | None = None
    ) -> SerialConsole:
        """The DUT's serial console, opened once and kept open for the session."""
        if self._console is None and self.remote is not None and opener is None:
            from pytest_jetson.console import SerialConsole

            baud = self.entry.serial.baud if self.entry.serial is not None else 115200
            self._console = SerialConsole.open(
                self.remote.console_url(), baudrate=baud, log=self.log("console.log")
            )
        if self._console is None:
            if self.entry.serial is None:
                raise ConfigError(f"bench entry {self.name} has no serial console", key="serial")
            from pytest_jetson.console import SerialConsole

            open_ = opener or (
                lambda port, baud, log: SerialConsole.open(port, baudrate=baud, log=log)
            )
            self._console = open_(
                self.entry.serial.port, self.entry.serial.baud, self.log("console.log")
            )
        return self._console

    def close(self) -> None:
        """Close the console (idempotent)."""
        if self._console is not None:
            console, self._console = self._console, None
            console.close()
