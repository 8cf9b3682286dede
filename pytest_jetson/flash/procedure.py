"""The flash-and-boot flow of one DUT, step by step (the procedure from "Resolve the flash conf"
to "Summary"). The pytest layer runs each step as a test item; this module never imports pytest.

Steps raise :class:`~pytest_jetson.errors.DutError` (the board or image misbehaves),
:class:`~pytest_jetson.errors.BenchError` (infrastructure) or
:class:`~pytest_jetson.errors.ConfigError` (bad input). Every step updates the summary JSON.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_jetson.console.errors import ConsoleSilent
from pytest_jetson.console.shell import Shell
from pytest_jetson.drivers.eeprom import BoardId, profile_board
from pytest_jetson.dut import Dut
from pytest_jetson.errors import BenchError, ConfigError, DeadlineExceeded, DutError
from pytest_jetson.flash.buildonce import TwoSteps, full_identity, two_steps
from pytest_jetson.flash.plan import Plan, relative_to_profile
from pytest_jetson.flash.resolve import Resolution, require_files, resolve
from pytest_jetson.flash.tool import (
    RESET_LINE,
    FlashFailed,
    FlashSummary,
    FlashUsbLost,
    FlowChoice,
    Progress,
    flow_tool,
    run_flash,
)

if TYPE_CHECKING:
    from pytest_jetson.console.boot import BootSequencer, BootStageTimeout
    from pytest_jetson.console.stages import StageMark
    from pytest_jetson.drivers.defaultuser import UserStaging
    from pytest_jetson.flash.record import Decision, Records
    from pytest_jetson.host.lock import DutLock
    from pytest_jetson.host.runner import RunResult
    from pytest_jetson.preflight.checks import CheckOutcome
    from pytest_jetson.preflight.findings import Findings

PREFLIGHT_STEPS = ("bsp_image", "rcm", "eeprom", "default_user")
BOOT_STAGES = ("mb1", "mb2", "uefi", "kernel", "login")
STEPS: tuple[str, ...] = (
    *(f"preflight-{name}" for name in PREFLIGHT_STEPS),
    "plan",
    "recovery",
    "flash",
    "post-flash-reset",
    *BOOT_STAGES,
    "release",
)
"""Every step of ``--jetson-flash``, in order."""

_PRESET_PASSWORDS = {"ubuntu": "ubuntu", "nvidia": "nvidia"}


def lft_release(lft: Path) -> str | None:
    """The release of the image (``R36.4.3``) from ``rootfs/etc/nv_tegra_release``."""
    from pytest_jetson.lft.release import parse_nv_tegra_release

    path = lft / "rootfs" / "etc" / "nv_tegra_release"
    if not path.is_file():
        return None
    return parse_nv_tegra_release(path.read_text()).version


@dataclass
class FlashFlow:
    """The state of one DUT's flash-and-boot flow across the step items."""

    dut: Dut
    emit: Callable[[str], None] = print
    """Where progress lines go (the terminal)."""
    lock_dir: Path | None = None
    """Where the tree lock lives (the bench's lock folder); None: the tree is not locked (a
    remote bench's tree lives on its own host, where its place is the lock)."""
    auto: bool = False
    """``--jetson-flash=auto``: skip the flash when the board provably runs the plan's image."""
    summary: FlashSummary | None = None
    image_digest: str | None = None
    """What lands on the board (tree contents included), set by :meth:`plan`."""
    decision: Decision | None = None
    """The ``auto`` decision, once made (None: not ``auto``, or not decided yet)."""
    plan_: Plan | None = None
    failed_step: str | None = None
    failure: str = ""
    boot_cycles: int = 0
    """``--jetson-boot-cycles``: how many boot cycles follow the flash (the plan shows them)."""
    boot_started: float | None = None
    boot_bytes: int | None = None
    """The console's byte count when the board was reset (see :meth:`mark_reset`): a boot
    that adds none is a silent console, a bench symptom."""
    _resolution: Resolution | None = None
    _resolution_key: tuple[str | None, BoardId] | None = None
    _boot: BootSequencer | None = None
    _shell: Shell | None = None
    _marks: dict[str, StageMark] = field(default_factory=dict)
    """The stages of this boot seen so far (``auto`` reports the verification boot's)."""

    @property
    def summary_path(self) -> Path:
        """Where the summary JSON is persisted."""
        return self.dut.artifacts / "summary.json"

    # --- resolution -----------------------------------------------------------------------

    def resolution(self) -> Resolution:
        """The image side of the plan: the conf evaluated for the EEPROM the preflight read
        (the profile's values before that), the flow tool and its argv."""
        key = (self.usb_instance(), self._board())
        if self._resolution is None or self._resolution_key != key:
            dut = self.dut
            self._resolution = resolve(
                dut.entry.profile,
                dut.host_lft,
                board=key[1],
                boot_device=dut.entry.boot_device_resolved,
                usb_port=key[0],
            )
            self._resolution_key = key
        return self._resolution

    def flow_choice(self) -> FlowChoice:
        """The flow tool and its argv (boot device from the profile, then the bench).

        The tool is known before any preflight finding (the 5.1 check needs it); the argv is
        resolved again once RCM and the EEPROM were read (``--usb-instance``, the identity).
        """
        return self.resolution().choice

    def _board(self, findings: Findings | None = None) -> BoardId:
        """The EEPROM the preflight read, else the profile's values (nothing read yet)."""
        board = (findings or self.dut.findings).board_id
        return board if board is not None else profile_board(self.dut.entry.profile)

    def usb_instance(self, findings: Findings | None = None) -> str | None:
        """The RCM port path the flow tool gets as ``--usb-instance``.

        The bench side decides it from the device the RCM check saw (None before that
        check): see :meth:`~pytest_jetson.drivers.side.BenchSide.usb_instance`.
        """
        return self.dut.side.usb_instance((findings or self.dut.findings).device)

    # --- preflight ------------------------------------------------------------------------

    def preflight(self, name: str) -> CheckOutcome:
        """Run one preflight check (with the checks it needs) and return its outcome."""
        profile = self.dut.entry.profile
        # None: the plan step refuses the missing boot device with the choices
        tool = flow_tool(profile.chip, self.dut.entry.boot_device_resolved)
        outcomes = self.dut.preflight([name], flow_tool=tool)
        outcome = next(o for o in outcomes if o.name == name)
        self._record(f"preflight-{name}", outcome=outcome.status, message=outcome.message)
        return outcome

    # --- plan -----------------------------------------------------------------------------

    def plan(self) -> Plan:
        """Resolve the plan (needs the preflight outcomes, EEPROM included); refuse when a
        file the evaluated conf names is missing."""
        dut = self.dut
        resolution = self.resolution()
        require_files(dut.host_lft, resolution)
        staging = dut.findings.staging
        plan = plan_for(
            dut,
            resolution,
            staging=staging,
            eeprom_source="read from the DUT",
            boot_cycles=self.boot_cycles,
        )
        self.plan_ = plan
        from pytest_jetson.flash.imagedigest import image_digest

        self.image_digest = image_digest(
            plan, dut.host_lft, resolution.conf, digests=dut.side.file_digests
        )
        summary = self._summary()
        summary.image_digest = self.image_digest
        summary.plan = _plan_dict(plan)
        summary.plan_digest = plan.digest
        summary.bench_host = plan.bench_host
        self._record("plan", outcome="resolved")
        return plan

    def refuse(self, message: str) -> None:
        """Record that the plan was not accepted."""
        if self.summary is not None:
            self.summary.outcome = "refused"
            self.summary.message = message
        self._record("plan", outcome="refused")

    def planned(self) -> None:
        """Record a ``--jetson-plan-only`` run: the plan resolved, nothing is flashed."""
        summary = self._summary()
        if summary.outcome == "pending":
            summary.outcome = "planned"
        self._persist()

    # --- recovery, flash, reset -----------------------------------------------------------

    def recovery(self) -> CheckOutcome:
        """Make sure the DUT is (still) in recovery right before flashing."""
        dut = self.dut
        if dut.state == "recovery":
            device = dut.find_rcm()
            if device is not None:
                outcome = dut.outcomes["rcm"]
                self._record("recovery", outcome="pass", message=f"still in RCM: {device}")
                return outcome
        dut.forget("rcm")
        outcome = next(o for o in dut.preflight(["rcm"], flow_tool=None) if o.name == "rcm")
        self._record("recovery", outcome=outcome.status, message=outcome.message)
        return outcome

    @property
    def records(self) -> Records | None:
        """The DUT's host record and provisioning marker: where its bench side keeps them (a
        labgrid place's tags), else next to its lock; None when it has neither."""
        kept = self.dut.side.host_records(self.dut.name)
        if kept is not None:
            return kept
        if self.lock_dir is None:
            return None
        from pytest_jetson.flash.record import RecordStore

        return RecordStore(self.lock_dir, self.dut.name)

    @property
    def skipped(self) -> bool:
        """Whether ``auto`` verified the board and the flash was skipped."""
        return self.decision is not None and self.decision.skip

    def flash_or_verify(self) -> str | None:
        """The flash step: with ``auto``, first decide (booting and reading the board when the
        host record allows a skip); returns the skip message, or None after a flash."""
        if self.auto:
            from pytest_jetson.flash.autoflash import decide_reflash

            self.decision = decide_reflash(self)
            summary = self._summary()
            summary.reflash = {
                "skip": self.decision.skip,
                "reason": self.decision.reason,
                "message": self.dut.redactor(self.decision.message),
            }
            self._persist()
            if self.decision.skip:
                self._record("flash", outcome="skipped", message=self.decision.message)
                return self.decision.message
            self.emit(f"jetson flash {self.dut.name}: flashing: {self.decision.message}")
        self.flash()
        return None

    def flash(self) -> None:
        """Run the flow tool once; never retried. Opens the console first, so no boot byte
        is lost when the board resets at the end. The provisioning marker is written first:
        only a passed boot validation clears it."""
        dut = self.dut
        choice = self.flow_choice()
        records = self.records
        if records is not None and self.image_digest is not None:
            records.mark_provisioning(self.image_digest)
        console = self._open_console()
        console.discard()
        log = dut.log("flash.log")
        progress = Progress(self.emit)
        reset_at: list[tuple[float, int]] = []

        def on_line(line: str) -> None:
            if not reset_at and RESET_LINE.search(line):
                reset_at.append((time.monotonic(), console.bytes_received))
            progress(line)

        start = time.monotonic()
        outcome = "failed"
        returncode: int | None = None
        ran = choice
        try:
            result, ran = self._run_in_tree(choice, log=log, on_line=on_line, start=start)
            returncode = result.returncode
            outcome = "flashed"
        except DeadlineExceeded:
            outcome = "timeout"
            raise
        except (FlashFailed, FlashUsbLost) as exc:
            returncode = exc.returncode
            outcome = "failed"
            raise
        except (DutError, BenchError):
            outcome = "failed"
            raise
        except KeyboardInterrupt:
            outcome = "interrupted"
            raise
        except BaseException:
            outcome = "interrupted"
            raise
        finally:
            if self.summary is not None:
                self.summary.outcome = outcome
                self.summary.add_step(
                    "flash",
                    argv=ran.command,
                    returncode=returncode,
                    log=log,
                    duration=time.monotonic() - start,
                    outcome=outcome,
                )
                self.summary.message = "" if outcome == "flashed" else f"flash {outcome}"
                self._persist()
        dut.transition("flashed")
        dut.forget("rcm", "eeprom")
        if not dut.entry.profile.chip.post_flash_reset:
            # The board boots while the tool prints its last lines: count from its reset line.
            if reset_at:
                self.boot_started, self.boot_bytes = reset_at[0]
            else:
                self.mark_reset()

    def _run_in_tree(
        self,
        choice: FlowChoice,
        *,
        log: Path,
        on_line: Callable[[str], None],
        start: float,
    ) -> tuple[RunResult, FlowChoice]:
        """Run the flow tool under the tree's locks; returns its result and what ran.

        An initrd flash with a known port builds once (``--no-flash``, offline) unless the
        tree already holds the same build, then flashes with ``--flash-only --usb-instance``;
        every run holds the tree alone. NVIDIA's l4t_initrd_flash.sh gives each separate
        ``--flash-only`` run device instance 0, so two at once would share the tree's
        ``bootloader0`` working folder; parallel flashing from one build is ``--massflash``.
        """
        dut = self.dut

        def run(step: FlowChoice, path: Path) -> RunResult:
            left = max(1.0, dut.deadlines.flash - (time.monotonic() - start))
            return run_flash(dut.side, step, timeout=left, log=path, on_line=on_line, sudo=dut.sudo)

        tree = self._hold_tree()
        if tree is None or self.lock_dir is None:
            return run(choice, log), choice
        from pytest_jetson.flash.treelock import (
            BuildRecord,
            TreeUse,
            read_build,
            saved_fingerprint,
            write_build,
        )

        lft, lock_dir = dut.lft, self.lock_dir
        use = TreeUse(lft, lock_dir)
        left = max(1.0, dut.deadlines.flash - (time.monotonic() - start))
        what = f"the images in {lft}"
        try:
            steps = self._two_steps(choice)
            if steps is None:
                use.take(exclusive=True, timeout=left, what=what)
                write_build(lft, lock_dir, None)  # the tree's files are this run's now
                return run(choice, log), choice
            record = read_build(lft, lock_dir)
            if record is not None and record.key == steps.key:
                use.take(exclusive=True, timeout=left, what=what)
                role, built_by = "reused", record.dut
            else:
                use.take(exclusive=True, timeout=left, what=what)
                write_build(lft, lock_dir, None)
                self._build(steps.build, run)
                saved = saved_fingerprint(lft)
                write_build(lft, lock_dir, BuildRecord(steps.key, dut.name, saved))
                role, built_by = "built", dut.name
            if self.summary is not None:
                self.summary.image_build = {"role": role, "key": steps.key, "built_by": built_by}
            self.emit(f"jetson flash {dut.name}: image {role} (key {steps.key}, by {built_by})")
            tree.release()
            return run(steps.flash, log), steps.flash
        finally:
            tree.release()
            use.release()

    def _two_steps(self, choice: FlowChoice) -> TwoSteps | None:
        """The build/flash split, keyed on the plan's image digest, for the EEPROM read (the
        profile's values where it is empty)."""
        board = self.dut.findings.board_id
        if board is None:
            return None
        profile = profile_board(self.dut.entry.profile)
        identity = full_identity(_identity(board), _identity(profile))
        return two_steps(choice, identity, image_digest=self._build_digest())

    def _build_digest(self) -> str | None:
        """The plan's image-digest fields without the default-user staging word: the first
        DUT's staging writes the user into the shared tree's rootfs, after which the next DUT
        reads "already staged (kept)" for the very same rootfs."""
        if self.plan_ is None:
            return None
        fields = {k: v for k, v in self.plan_.image_fields().items() if k != "default_user"}
        text = json.dumps(fields, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def _build(self, build: FlowChoice, run: Callable[[FlowChoice, Path], RunResult]) -> None:
        """Run the ``--no-flash`` build and record it as the summary's ``build`` step."""
        log = self.dut.log("build.log")
        start = time.monotonic()
        returncode: int | None = None
        outcome = "failed"
        try:
            returncode = run(build, log).returncode
            outcome = "built"
        except (FlashFailed, FlashUsbLost) as exc:
            returncode = exc.returncode
            raise
        finally:
            if self.summary is not None:
                self.summary.add_step(
                    "build",
                    argv=build.command,
                    returncode=returncode,
                    log=log,
                    duration=time.monotonic() - start,
                    outcome=outcome,
                )

    def _hold_tree(self) -> DutLock | None:
        """Wait (within the flash deadline) until no other flow tool runs in this tree."""
        if self.lock_dir is None:
            return None
        from pytest_jetson.flash.treelock import hold_tree

        lock, wait = hold_tree(
            self.dut.lft,
            self.lock_dir,
            timeout=self.dut.deadlines.flash,
            on_wait=lambda line: self.emit(f"jetson flash {self.dut.name}: {line}"),
        )
        if self.summary is not None:
            self.summary.tree_lock = {
                "tree": wait.tree,
                "lock": wait.lock,
                "waited_s": wait.waited_s,
                "held_by": wait.held_by,
            }
        return lock

    def post_flash_reset(self) -> str | None:
        """T264: ``boardctl reset`` (manual: ask the operator). Returns None when not needed."""
        dut = self.dut
        if not dut.entry.profile.chip.post_flash_reset:
            self._record("post-flash-reset", outcome="not needed")
            return None
        boardctl = dut.boardctl()
        self._open_console().discard()
        if boardctl is None:
            self.emit(
                f"DUT {dut.name}: remove the force-recovery jumper / release RECOVERY and "
                "power-cycle the board now; waiting for console activity"
            )
            self.mark_reset()
            self._open_console().expect(r"\S", timeout=dut.deadlines.boot)
            self._record("post-flash-reset", outcome="manual")
            return "manual power-cycle"
        # The board may start booting before boardctl returns: count from the request.
        self.mark_reset()
        result = boardctl.reset()
        if self.summary is not None:
            self.summary.add_step(
                "post-flash-reset",
                argv=result.argv,
                returncode=result.returncode,
                log=result.log_path,
                duration=result.duration,
                outcome="reset",
            )
        self._record("post-flash-reset", outcome="reset")
        return result.command

    # --- boot -----------------------------------------------------------------------------

    def boot_stage(self, stage: str) -> StageMark:
        """Wait for boot ``stage`` on the console (:class:`~.console.boot.BootSequencer`).

        Each stage has its own deadline, counted from the last stage seen and capped by the
        whole-boot deadline; a stage whose marker was lost in the combined UART while a later
        one arrived is not observed (a pass). Bad patterns (a panic, an Oops, the first-boot
        wizard when a user was staged) fail at once naming the stage the board was in. The
        ``kernel`` stage lasts until the kernel hands over to userspace, so a kernel panic
        fails it.
        """
        from pytest_jetson.console.boot import BootStageTimeout

        if self.skipped and stage in self._marks:
            return self._marks[stage]  # validated on the verification boot
        sequencer = self._sequencer()
        try:
            mark = sequencer.settle(stage) if stage == "kernel" else sequencer.reach(stage)
        except BootStageTimeout as exc:
            silent = self._silence(exc)
            if silent is not None:
                raise silent from exc
            raise
        finally:
            if self.summary is not None:
                self.summary.boot_timeline = sequencer.timeline
        self._marks[stage] = mark
        if stage == BOOT_STAGES[-1]:
            self.dut.transition("booted")
        if mark.seconds is None:
            after = self.boot_last_seen()
            later = f"; {after} was seen" if after is not None else ""
            self._record(stage, outcome="not_observed", message=f"marker not seen{later}")
        else:
            self._record(
                stage, outcome="seen", message=f"{mark.seconds:.2f}s after reset: {mark.line}"
            )
        return mark

    def mark_reset(self) -> None:
        """The board is reset now: its boot is timed, and its console output counted, from
        here."""
        self.boot_started = time.monotonic()
        self.boot_bytes = self._open_console().bytes_received

    def _silence(self, exc: BootStageTimeout) -> ConsoleSilent | None:
        """The bench symptom behind a stage timeout when not one byte arrived since the
        reset (the boot ROM and MB1 print within seconds of it), else None: an image that
        printed anything and then stopped is the product's failure."""
        console = self._open_console()
        if self.boot_bytes is None or console.bytes_received != self.boot_bytes:
            return None
        started = self.boot_started if self.boot_started is not None else time.monotonic()
        return ConsoleSilent(
            console.port,
            time.monotonic() - started,
            awaited=f"boot stage {exc.stage!r}",
            log_path=console.log_path,
        )

    def console_answers(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the first console byte after :meth:`mark_reset`
        (nothing is consumed: boot validation still sees it); raise :class:`ConsoleSilent`."""
        console = self._open_console()
        if self.boot_bytes is None:
            self.mark_reset()
        assert self.boot_bytes is not None
        if not console.wait_received(self.boot_bytes, timeout):
            raise ConsoleSilent(
                console.port, timeout, awaited="any output", log_path=console.log_path
            )

    def boot_last_seen(self) -> str | None:
        """The name of the last boot stage whose marker arrived."""
        mark = self._boot.last_seen if self._boot is not None else None
        return mark.name if mark is not None else None

    def _sequencer(self) -> BootSequencer:
        """The boot sequencer of this boot (made at the first stage)."""
        from pytest_jetson.console.boot import BootSequencer

        if self._boot is None:
            if self.boot_started is None:
                self.mark_reset()
            self._boot = BootSequencer(
                self._open_console(),
                self.dut.entry.profile.chip,
                user_staged=self._user_staged(),
                start=self.boot_started,
                total=self.dut.deadlines.boot,
            )
        return self._boot

    def release(self) -> str | None:
        """Log in and check ``/etc/nv_tegra_release`` is the flashed release.

        Returns None when no user was staged (the OEM wizard owns the console: no login).
        """
        dut = self.dut
        if not self._user_staged() and dut.entry.default_user is None:
            return None
        if dut.entry.default_user is not None and dut.entry.default_user.kind == "skip":
            return None
        shell = self.shell()
        text = shell.run("cat /etc/nv_tegra_release")
        expected = lft_release(dut.host_lft)
        match = re.search(r"# R(\d+) \(release\), REVISION: (\d+\.\d+)", text)
        found = f"R{match.group(1)}.{match.group(2)}" if match else None
        if expected is not None and found != expected:
            raise DutError(
                f"the board runs {found or 'an unknown release'} but {expected} was flashed: "
                f"the flash did not take\n--- /etc/nv_tegra_release ---\n{text.strip()}"
                f"\n--- console log: {shell.console.log_path}"
            )
        if self.summary is not None:
            self.summary.outcome = "verified" if self.skipped else "booted"
        self._validated()
        self._record("release", outcome="pass", message=f"board runs {found}")
        return found

    def _validated(self) -> None:
        """The boot validation passed: store the host record (image digest and the identity
        read now) and clear the provisioning marker. A board ``auto`` verified needs neither:
        its identity was read moments ago and equals the record, and a skip needs no marker."""
        records = self.records
        if records is None or self.image_digest is None or self.skipped:
            return
        from pytest_jetson.flash.autoflash import read_identity

        identity = read_identity(self.shell())
        if isinstance(identity, str):
            self.emit(f"jetson {self.dut.name}: no host record written: {identity}")
            return
        records.validated(self.image_digest, identity)

    def reset_boot(self) -> None:
        """Forget the boot seen so far (the board is taken back to recovery and flashed, or
        a recovery rung resets it)."""
        self.boot_started = None
        self.boot_bytes = None
        self._boot = None
        self._marks.clear()
        self._shell = None

    def shell(self, *, timeout: float | None = None) -> Shell:
        """A logged-in shell on the DUT's console (logging in once, within ``timeout``
        seconds, default the ``login`` deadline)."""
        if self._shell is None:
            username, password = self._credentials()
            choice = self.dut.entry.default_user
            # ubuntu/ubuntu and nvidia/nvidia are NVIDIA's documented defaults, not secrets
            # (masking "ubuntu" would mask the hostname); a custom password is a secret.
            secret = choice is None or choice.kind not in _PRESET_PASSWORDS
            if password is not None and secret:
                self.dut.redactor.add(password)
            self._shell = Shell.login(
                self._open_console(),
                username,
                password,
                timeout=self.dut.deadlines.login if timeout is None else timeout,
                secret=secret,
            )
        return self._shell

    def drop_shell(self) -> None:
        """Forget the logged-in shell (the board was reset: the next :meth:`shell` logs in)."""
        self._shell = None

    def user_staged(self) -> bool:
        """Whether a default user was staged (else the first-boot wizard ends the boot)."""
        return self._user_staged()

    def record_cycles(self, data: dict[str, Any]) -> None:
        """Keep the boot cycles (every cycle, per-stage statistics, failures) in the summary."""
        self._summary().boot_cycles = data
        self._persist()

    def healed(self, step: str, message: str) -> None:
        """``step`` failed on a bench symptom that the recovery ladder then healed: its
        summary entry says ``healed`` (the climb itself is in the ``recovery`` list)."""
        for entry in self._summary().steps:
            if entry["step"] == step:
                entry.update(outcome="healed", message=self.dut.redactor(message))
        self._persist()

    def record_recovery(self, climb: dict[str, Any]) -> None:
        """Add one climb of the recovery ladder to the summary and persist it."""
        self._summary().recovery.append(climb)
        self._persist()

    def _user_staged(self) -> bool:
        return self.dut.findings.user_staged

    def _credentials(self) -> tuple[str, str | None]:
        staging = self.dut.findings.staging
        choice = self.dut.entry.default_user
        staged = staging.username if staging is not None else None
        username = staged or (choice.name if choice else None)
        if not username:
            raise ConfigError(
                f"DUT {self.dut.name}: no default user to log in with "
                "(set default_user in the bench entry)",
                key="default_user",
            )
        password: str | None = None
        if choice is not None and choice.kind in _PRESET_PASSWORDS:
            password = _PRESET_PASSWORDS[choice.kind]
        elif choice is not None and choice.password_env:
            password = self.dut.env.get(choice.password_env)
        return username, password

    # --- bookkeeping ----------------------------------------------------------------------

    def _open_console(self) -> Any:
        return self.dut.console()

    def _summary(self) -> FlashSummary:
        """The summary, started at the first step (a run that fails in preflight has one too;
        the plan fills in its plan and digest)."""
        if self.summary is None:
            profile = self.dut.entry.profile
            self.summary = FlashSummary(
                dut=self.dut.name,
                plan={},
                plan_digest="",
                profile=profile.path.stem,
                target=profile.target_name,
            )
        return self.summary

    def _record(self, step: str, *, outcome: str, message: str = "") -> None:
        self._summary()
        assert self.summary is not None
        if not any(s["step"] == step for s in self.summary.steps):
            self.summary.steps.append(
                {"step": step, "outcome": outcome, "message": self.dut.redactor(message)}
            )
        self._persist()

    def fail(self, step: str, message: str, *, outcome: str = "failed") -> None:
        """Remember the first failed step (later steps and tests skip naming it) and record it
        in the summary's steps (``outcome``: ``failed``, or ``skipped`` for a step that could
        not run), unless the step recorded itself."""
        if self.failed_step is None:
            self.failed_step = step
            self.failure = message
        self._summary()
        if self.summary is not None:
            if self.summary.outcome in ("pending", "flashed", "booted"):
                self.summary.outcome = "failed"
            self.summary.message = self.dut.redactor(
                f"{step}: {message.splitlines()[0] if message else ''}"
            )
        self._record(step, outcome=outcome, message=message)

    def interrupt(self, step: str | None, why: str) -> None:
        """Record an interruption (Ctrl-C, SIGTERM) that landed in ``step`` (None: between
        steps): the summary's outcome is ``interrupted`` unless the flow had already failed
        or ended, and the step is in ``steps`` with that outcome."""
        summary = self._summary()
        if self.failed_step is None and summary.outcome in ("pending", "flashed", "interrupted"):
            summary.outcome = "interrupted"
            where = f"during step '{step}'" if step else f"after step '{self._last_step()}'"
            summary.message = f"interrupted {where}: {why}"
            if step is not None:
                self.failed_step = step
                self.failure = summary.message
        if step is not None:
            self._record(step, outcome="interrupted", message=why)
        else:
            self._persist()

    def _last_step(self) -> str:
        steps = self.summary.steps if self.summary is not None else []
        return str(steps[-1]["step"]) if steps else "(none)"

    def _persist(self) -> None:
        if self.summary is not None:
            self.summary.finished = time.time()
            self.summary.write(self.summary_path)

    def close(self) -> None:
        """Write the final summary."""
        self._persist()


def plan_for(
    dut: Dut,
    resolution: Resolution,
    *,
    staging: UserStaging | None,
    eeprom_source: str,
    boot_cycles: int = 0,
) -> Plan:
    """The plan of ``dut`` for ``resolution``: the flow's and the offline command's.

    The bench wiring (boardctl and its recovery/reset commands, deadlines, how many boot
    cycles follow and how each reboots) comes from ``dut``; ``staging`` is the default-user
    decision (None: not resolved).
    """
    profile = dut.entry.profile
    module = profile.reference_devkit.module
    expect = {
        "module.sku": module.sku or "(any)",
        "module.revision": module.revision or "(any)",
    }
    boardctl = dut.boardctl()
    rcm_entry, post = _bench_steps(dut, boardctl)
    default_user = staging.plan_value if staging is not None else "(not resolved)"
    # The image as the profile names it: the same plan (and digest) on any bench host.
    image = profile.bsp_image.lft if profile.bsp_image is not None else dut.lft
    return Plan(
        dut=dut.name,
        target=profile.target_name,
        profile=relative_to_profile(profile.path, profile.path.parent.parent)
        if profile.path.parent.name == "profiles"
        else profile.path.name,
        lft=relative_to_profile(image, profile.path),
        version=resolution.version,
        flash_conf=profile.flash_config,
        eeprom=dict(resolution.eeprom),
        profile_expect=expect,
        boot_device=dut.entry.boot_device_resolved or "(none)",
        flow_tool=resolution.choice.tool,
        argv=resolution.choice.argv,
        tool_env=dict(resolution.choice.env),
        boardctl="tools/board_automation/boardctl" if boardctl is not None else "(manual)",
        rcm_entry=rcm_entry,
        post_flash=post,
        default_user=default_user,
        deadlines=dut.deadlines.as_dict(),
        bench_host=dut.bench_host,
        conf=dict(resolution.conf),
        rootfs_ab=profile.rootfs_ab,
        eeprom_source=eeprom_source,
        boot_cycles=f"{boot_cycles} x {cycle_reboot(dut, boardctl)}" if boot_cycles else "",
    )


def cycle_reboot(dut: Dut, boardctl: Any) -> str:
    """How a boot cycle reboots the board: ``boardctl reset`` when the bench has boardctl,
    else ``sudo reboot`` typed on the logged-in console."""
    if boardctl is None:
        return "sudo reboot on the DUT's console (no boardctl on this bench)"
    argv = boardctl.command("reset")
    return " ".join([_rel(dut.lft, Path(argv[0])), *argv[1:]])


def _bench_steps(dut: Dut, boardctl: Any) -> tuple[str, str]:
    """The RCM entry and the post-flash action as the plan shows them."""
    profile = dut.entry.profile

    def line(action: str) -> str:
        argv = boardctl.command(action)
        return " ".join([_rel(dut.lft, Path(argv[0])), *argv[1:]])

    rcm_entry = line("recovery") if boardctl is not None else "manual recovery + reset buttons"
    if not profile.chip.post_flash_reset:
        post = f"not required — flash tool resets internally ({profile.chip.catalogue_id})"
    elif boardctl is not None:
        post = line("reset")
    else:
        post = "manual: remove the recovery jumper/button and power-cycle"
    return rcm_entry, post


def _identity(board: BoardId) -> dict[str, str]:
    """The flow tool's board-identity variables for an EEPROM reading."""
    return {
        "BOARDID": board.board_id,
        "FAB": board.fab,
        "BOARDSKU": board.sku,
        "BOARDREV": board.rev,
    }


def _rel(lft: Path, path: Path) -> str:
    try:
        return str(path.relative_to(lft))
    except ValueError:
        return str(path)


def _plan_dict(plan: Plan) -> dict[str, Any]:
    data: dict[str, Any] = plan.as_dict()
    data["digest"] = plan.digest
    data["image_digest"] = plan.image_digest
    return data


__all__ = ["BOOT_STAGES", "PREFLIGHT_STEPS", "STEPS", "BenchError", "FlashFlow"]
