"""Per-session state of the plugin: the selected DUTs, their resolved bench entries, their
locks and flows; each DUT keeps its own broken latch.

One :class:`JetsonSession` lives in ``config.stash`` for a run with ``--dut``; without ``--dut``
none exists and the plugin is inert.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_jetson.errors import JetsonError, UsageError, excerpt
from pytest_jetson.inputs import is_file, user_path

if TYPE_CHECKING:
    from pytest_jetson.bench import BenchEntry, Inventory
    from pytest_jetson.drivers.side import BenchSide
    from pytest_jetson.dut import Dut
    from pytest_jetson.flash.procedure import FlashFlow
    from pytest_jetson.host.workdir import SessionFolder
    from pytest_jetson.profile import Profile
    from pytest_jetson.recovery.quarantine import QuarantineBook

# Heavy modules (yaml, the drivers) are imported inside functions: without --dut the plugin
# must cost nothing at startup.

NO_DUT_REASON = "no DUT selected (use --dut NAME)"


@dataclass
class JetsonSession:
    """The plugin's state for one pytest session (stored in ``config.stash``)."""

    config: pytest.Config
    dut_names: tuple[str, ...]
    inventory: Inventory | None
    profile_dirs: tuple[Path, ...]
    entries: dict[str, BenchEntry] = field(default_factory=dict)
    duts: dict[str, Dut] = field(default_factory=dict)
    locks: dict[str, Any] = field(default_factory=dict)
    """DUT name → its held :class:`~pytest_jetson.host.lock.DutLock` (kept alive here)."""
    unavailable: dict[str, str] = field(default_factory=dict)
    """DUT name → why its lock could not be taken (later uses fail at once with it)."""
    flows: dict[str, FlashFlow] = field(default_factory=dict)
    settled: dict[str, str] = field(default_factory=dict)
    """DUT name → how it was taken out of recovery after its flow failed (before the next
    DUT's steps); its teardown then keeps that unless it asks for recovery."""
    _workdir: Path | None = None
    _folder: SessionFolder | None = None
    _closers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def workdir(self) -> Path:
        """A private temporary folder for this session (simulated benches live here);
        removed when the session ends (a killed session's folder by the next session)."""
        if self._workdir is None:
            from pytest_jetson.host.workdir import SessionFolder

            folder = SessionFolder()  # reclaims the folders of sessions that were killed
            self._workdir = folder.path
            self._folder = folder
        return self._workdir

    @property
    def artifacts(self) -> Path:
        """The artifacts folder (``--jetson-artifacts``, default ``jetson-artifacts/``)."""
        option = self.config.getoption("jetson_artifacts")
        if not option:
            return (self.config.rootpath / "jetson-artifacts").resolve()
        return user_path(option, "--jetson-artifacts")

    def check_artifacts(self) -> None:
        """The artifacts folder is (or can become) a folder this user writes, or a usage error
        now, not a traceback when the first log is opened. Nothing is created here."""
        folder = self.artifacts
        existing = folder
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            raise UsageError(
                f"--jetson-artifacts {folder}: {existing} is not a folder; give a folder"
            )
        if not os.access(existing, os.W_OK | os.X_OK):
            raise UsageError(f"--jetson-artifacts {folder}: {existing} is not writable")

    @property
    def default_dut(self) -> str:
        """The DUT that single-DUT fixtures use."""
        return self.dut_names[0]

    def known_names(self) -> list[str]:
        """Every DUT name this bench knows (``pytest_jetson_known_duts``)."""
        hook: Any = self.config.hook
        known: list[str] | None = hook.pytest_jetson_known_duts(config=self.config)
        return known or []

    def entry(self, name: str) -> BenchEntry:
        """The resolved bench entry of DUT ``name`` (resolving it on first use)."""
        entry = self.entries.get(name)
        if entry is None:
            self.check_quarantine(name)
            workdir = self.workdir / name
            workdir.mkdir(parents=True, exist_ok=True)
            hook: Any = self.config.hook
            entry = hook.pytest_jetson_resolve_dut(config=self.config, name=name, workdir=workdir)
            if entry is None:
                raise UsageError(
                    f"unknown DUT {excerpt(name)}; known DUTs: {', '.join(self.known_names())}"
                )
            override = self.config.getoption("jetson_profile")
            if override is not None:
                entry = replace(entry, profile=self.load_profile_ref(override))
            self.entries[name] = entry
        return entry

    def load_profile_ref(self, ref: str) -> Profile:
        """Load a profile given as a path, a name in the profile folders, or a provided
        name (``pytest_jetson.profiles`` entry points, set up under the rootdir)."""
        from pytest_jetson.errors import ConfigError
        from pytest_jetson.profile import find_profile, load_profile

        try:
            return load_profile(
                find_profile(ref, folders=self.profile_dirs, base=self.config.rootpath)
            )
        except ConfigError as exc:  # a missing, unreadable or malformed file: one usage error
            raise UsageError(f"--jetson-profile {excerpt(ref)}: {exc}") from None

    def dut(self, name: str) -> Dut:
        """The DUT handle of ``name`` (resolving its entry on first use)."""
        dut = self.duts.get(name)
        if dut is None:
            from pytest_jetson.dut import Dut, fresh_artifacts

            self.lock(name)
            entry = self.entry(name)
            fresh_artifacts(self.artifacts / name)  # the lock is held: no other run writes it
            deadlines = self.deadlines_for(name, entry.deadlines)
            hook: Any = self.config.hook
            extra: dict[str, Any] = {}
            for found in hook.pytest_jetson_preflight_checks(config=self.config):
                extra.update(found or {})
            dut = Dut(
                entry=entry,
                side=self.bench_side(entry),
                artifacts=self.artifacts / name,
                deadlines=deadlines,
            )
            if extra:
                from pytest_jetson.preflight.checks import STAGE_LAST, PreflightCheck

                def bind(fn: Callable[[Dut], Any]) -> Callable[[], Any]:
                    return lambda: fn(dut)

                dut.extra_checks = {
                    n: PreflightCheck(n, bind(fn), STAGE_LAST) for n, fn in extra.items()
                }
            self.duts[name] = dut
            self.on_close(dut.close)
            from pytest_jetson.remote.side import RemoteBench, attach

            if isinstance(dut.side, RemoteBench):
                attach(self, dut, dut.side)  # acquire the labgrid place; released at close
        return dut

    def bench_side(self, entry: BenchEntry) -> BenchSide:
        """Where the DUT's tools run: a labgrid exporter over SSH for a ``labgrid:`` entry,
        else this host, with the USB backend ``pytest_jetson_usb_backend`` gives (a simulated
        DUT's bus is the simulated host's; None: the host's libusb)."""
        if entry.labgrid is not None:
            from pytest_jetson.remote.side import RemoteBench

            return RemoteBench(entry, self.workdir / entry.name / "remote")
        from pytest_jetson.drivers.side import LocalSide

        hook: Any = self.config.hook
        backend = hook.pytest_jetson_usb_backend(config=self.config, entry=entry)
        return LocalSide.for_entry(entry, backend=backend)

    def deadlines_for(self, name: str, bench: Any = None) -> Any:
        """The DUT's step deadlines: defaults, then the bench entry's, then the command line."""
        from pytest_jetson.dut import Deadlines

        if bench is None:
            dut = self.inventory.duts.get(name) if self.inventory is not None else None
            bench = dut.deadlines if dut is not None else ()
        return Deadlines(**{**dict(bench), **self.deadline_overrides()})

    def lock(self, name: str) -> None:
        """Take the exclusive lock of DUT ``name`` for the rest of the session.

        A DUT for which ``pytest_jetson_dut_lock`` says no takes none: a remote (``labgrid:``)
        DUT is locked by acquiring its place, which every host sees, and the simulator's
        built-in DUTs are private to the session. Waits up to ``--jetson-lock-timeout``, then
        raises :class:`~pytest_jetson.host.lock.LockTimeout` naming the holder.

        Locks are taken in one global order, the order of their lock files' paths, so two
        sessions that select the same DUTs in different orders never hold one each and wait
        for the other: a session without xdist takes all its DUTs' locks at the first use,
        in that order; an xdist worker takes only the DUT it runs, and the scheduler hands
        each worker its DUTs in that same order (:mod:`pytest_jetson.plugin.xdist`).
        """
        if name in self.locks:
            return
        self.check_quarantine(name)
        if not self._needs_lock(name):
            return
        from pytest_jetson.host.lock import LockError

        if name in self.unavailable:
            raise LockError(self.unavailable[name])
        for other in self._lock_order(name):
            try:
                self._take_lock(other)
            except LockError:
                if other == name:
                    raise
        if name in self.unavailable:
            raise LockError(self.unavailable[name])

    def _needs_lock(self, name: str) -> bool:
        hook: Any = self.config.hook
        return bool(hook.pytest_jetson_dut_lock(config=self.config, name=name))

    def _lock_order(self, name: str) -> list[str]:
        """The DUTs whose locks this process takes now, for ``name``, in the global order."""
        from pytest_jetson.host.lock import lock_file_stem
        from pytest_jetson.recovery.quarantine import Quarantined

        if hasattr(self.config, "workerinput"):  # an xdist worker: its own DUT only
            return [name]
        wanted = [name]
        for other in self.dut_names:
            if other in self.locks or other in self.unavailable or other in wanted:
                continue
            try:
                self.check_quarantine(other)
            except Quarantined:
                continue  # never locked: its own use reports the quarantine
            if self._needs_lock(other):
                wanted.append(other)
        return sorted(wanted, key=lock_file_stem)

    def _take_lock(self, name: str) -> None:
        from pytest_jetson.host.lock import DutLock, LockError

        timeout: float = self.config.getoption("jetson_lock_timeout")

        def waiting(holder: Any) -> None:
            who = holder.describe() if holder is not None else "another session"
            self.emit(f"DUT {name} is locked by {who}; waiting up to {timeout:g}s")

        lock = DutLock(name, self.lock_dir(), command=self.redacted_command())
        try:
            lock.acquire(timeout, on_wait=waiting)
        except LockError as exc:
            self.unavailable[name] = f"not waiting again for DUT {name}: {exc}"
            raise
        self.locks[name] = lock

    def quarantine(self, name: str) -> QuarantineBook:
        """Where DUT ``name``'s quarantine record lives: a tag of its labgrid place (seen by
        every client), else next to the DUT locks."""
        from pytest_jetson.recovery.quarantine import QuarantineStore

        entry = self.inventory.duts.get(name) if self.inventory is not None else None
        spec = entry.labgrid if entry is not None else None
        if spec is not None and spec.place is not None:
            from pytest_jetson.remote.placequarantine import PlaceQuarantine

            return PlaceQuarantine(spec)
        return QuarantineStore(self.lock_dir())

    def check_quarantine(self, name: str) -> None:
        """Raise :class:`~pytest_jetson.recovery.quarantine.Quarantined` for a quarantined
        inventory DUT, before anything touches it (no lock, no tool); ``--jetson-requalify``
        runs are the exception. Only inventory DUTs are quarantined (a plugin's built-in DUTs,
        like the simulator's, are private to the session)."""
        if self.inventory is None or name not in self.inventory.duts:
            return
        if self.config.getoption("jetson_requalify"):
            return
        self.quarantine(name).check(name)

    def lock_dir(self) -> Path:
        """Where DUT locks live: ini ``jetson_lock_dir``, the inventory's ``lock_dir``,
        ``$JETSON_LOCK_DIR``, or the default."""
        ini = self.config.getini("jetson_lock_dir")
        if ini:
            return user_path(str(ini), "ini jetson_lock_dir =", base=self.config.rootpath)
        if self.inventory is not None and self.inventory.lock_dir is not None:
            return self.inventory.lock_dir
        env = os.environ.get("JETSON_LOCK_DIR")
        if env:
            return user_path(env, "$JETSON_LOCK_DIR =")
        from pytest_jetson.host.lock import DEFAULT_LOCK_DIR

        return DEFAULT_LOCK_DIR

    def redacted_command(self) -> list[str]:
        """This pytest's command line as the lock holder record shows it."""
        import sys

        return [sys.executable, "-m", "pytest", *self.config.invocation_params.args]

    def flow(self, name: str) -> FlashFlow:
        """The flash flow of DUT ``name``."""
        flow = self.flows.get(name)
        if flow is None:
            from pytest_jetson.flash.procedure import FlashFlow

            self.settle_failed(before=name)
            dut = self.dut(name)
            local = dut.entry.labgrid is None
            flow = FlashFlow(
                dut,
                emit=self.emit,
                lock_dir=self.lock_dir() if local else None,
                auto=self.config.getoption("jetson_flash") == "auto",
                boot_cycles=self.config.getoption("jetson_boot_cycles", 0),
            )
            self.flows[name] = flow
        return flow

    def emit(self, line: str) -> None:
        """Show a progress line on the terminal (live, even while a test's output is captured)."""
        import contextlib

        manager = self.config.pluginmanager
        reporter: Any = manager.get_plugin("terminalreporter")
        if reporter is None:
            return
        capture: Any = manager.get_plugin("capturemanager")
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            reporter.write_line(line)

    def deadline_overrides(self) -> dict[str, float]:
        """Deadlines given on the command line (``--jetson-deadline step=seconds``)."""
        from dataclasses import fields

        from pytest_jetson.dut import Deadlines
        from pytest_jetson.inputs import check_seconds

        known = [f.name for f in fields(Deadlines)]
        values: dict[str, float] = {}
        for item in self.config.getoption("jetson_deadline") or []:
            step, _, seconds = item.partition("=")
            step = step.strip().replace("-", "_")
            try:
                value = float(seconds)
            except ValueError:
                value = -1.0
            if step not in known or not value > 0:
                raise UsageError(
                    f"--jetson-deadline {excerpt(item)}: expected STEP=SECONDS with STEP one of "
                    f"{', '.join(known)}"
                )
            values[step] = check_seconds(value, f"--jetson-deadline {excerpt(item)}:")
        return values

    def settle_failed(self, *, before: str) -> None:
        """Power off every other DUT whose flash flow failed while it was in recovery, before
        DUT ``before`` starts its steps.

        A board left in recovery stays on the host's USB bus as a second Jetson: the next
        DUT's RCM check and EEPROM read (``Too many Jetson devices``) would see two and take
        a healthy bench for unavailable when its entry names no ``usb_port``. Power off takes
        it off the bus without booting a half-written image; its teardown setting still
        applies at the end of the session (``recovery`` puts it back into recovery then).
        """
        for name, flow in self.flows.items():
            dut = self.duts.get(name)
            if name == before or flow.failed_step is None or name in self.settled:
                continue
            if dut is None or dut.state != "recovery":
                continue
            self.settled[name] = self._power_off_failed(name, dut, flow.failed_step, before)
            if flow.summary is not None:
                flow.summary.teardown = self.settled[name]
                flow.close()
            self.emit(f"jetson teardown {name}: {dut.redactor(self.settled[name])}")

    def _power_off_failed(self, name: str, dut: Dut, step: str, before: str) -> str:
        why = f"after its failed step '{step}', so that DUT {before} sees one Jetson in recovery"
        boardctl = dut.boardctl()
        if boardctl is None:
            return f"left in recovery {why.replace('so that', 'although')}: no boardctl"
        try:
            return f"power_off {why}: {boardctl.power_off().command}"
        except JetsonError as exc:
            return f"power_off {why} failed: {exc}"

    def teardown(self, name: str, dut: Dut) -> None:
        """Leave the DUT in the state the bench asks for (booted, powered off, recovery).

        Every DUT the session opened is put there; what was done goes to the summary and
        the terminal."""
        option = self.config.getoption("jetson_teardown")
        action = option or dut.entry.teardown
        done = "left as it was"
        if name in self.settled and action != "recovery":  # already powered off
            done = self.settled[name]
            action = "leave"
        elif action != "leave":
            boardctl = dut.boardctl()
            if boardctl is None:
                done = f"{action} not possible without boardctl: left as it was"
            else:
                from pytest_jetson.errors import JetsonError

                try:
                    result = boardctl.power_off() if action == "power_off" else boardctl.recovery()
                    done = f"{action}: {result.command}"
                except JetsonError as exc:
                    done = f"{action} failed: {exc}"
        flow = self.flows.get(name)
        if flow is not None and flow.summary is not None:
            flow.summary.teardown = done
        if action != "leave":
            self.emit(f"jetson teardown {name}: {dut.redactor(done)}")

    def on_close(self, closer: Callable[[], None]) -> None:
        """Run ``closer`` when the session ends (last registered runs first)."""
        self._closers.append(closer)

    def close(self) -> None:
        """Release everything the session started: DUTs, consoles, locks, then what plugins
        started (``pytest_jetson_session_finish``: the simulated host)."""
        try:
            for name, dut in self.duts.items():
                self.teardown(name, dut)
            while self._closers:
                self._closers.pop()()
            for name, flow in self.flows.items():
                try:
                    flow.close()
                except JetsonError as exc:  # a full disk: the other DUTs' summaries still go
                    self.emit(f"jetson summary {name}: {exc}")
        finally:
            for lock in self.locks.values():
                lock.release()
            self.locks.clear()
            hook: Any = self.config.hook
            try:
                hook.pytest_jetson_session_finish(config=self.config)
            finally:
                self._remove_workdir()

    def _remove_workdir(self) -> None:
        if self._folder is not None:
            self._folder.remove()


STATE_KEY = pytest.StashKey[JetsonSession]()


def get_session(config: pytest.Config) -> JetsonSession | None:
    """The session state, or None when no DUT was selected (the plugin is inert)."""
    return config.stash.get(STATE_KEY, None)


INSPECT_OPTIONS = (
    ("setupplan", "--setup-plan"),
    ("setuponly", "--setup-only"),
    ("collectonly", "--collect-only"),
)


def inspect_only(config: pytest.Config) -> str | None:
    """The option (``--setup-plan``, ``--setup-only``, ``--collect-only``) under which the
    run only shows tests and fixtures, or None. Such a run never touches the bench: no
    simulated DUT is started, no lock taken, no port opened."""
    for dest, flag in INSPECT_OPTIONS:
        if config.getoption(dest, False):
            return flag
    return None


def selected_duts(config: pytest.Config) -> tuple[str, ...]:
    """The DUT names of ``--dut`` (or ``$JETSON_DUT``), comma-separated, in order.

    ``@PROFILE`` stands for every inventory DUT of that profile (expanded later)."""
    value = config.getoption("dut")
    if value is None:
        value = os.environ.get("JETSON_DUT") or None
    if value is None:
        return ()
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    if not names:
        raise UsageError("--dut needs a DUT name")
    return names


def bench_path(config: pytest.Config) -> Path | None:
    """The bench inventory file: ``--jetson-bench``, else ini ``jetson_bench``, else
    ``hil/bench.yaml`` under the rootdir when it exists."""
    option = config.getoption("jetson_bench")
    if option is not None:
        path = user_path(option, "--jetson-bench")
        if not is_file(path):
            raise UsageError(f"--jetson-bench {option}: no such file")
        return path
    ini = config.getini("jetson_bench")
    if ini:
        path = user_path(str(ini), "ini jetson_bench =", base=config.rootpath)
        if not is_file(path):
            raise UsageError(f"ini jetson_bench = {ini}: no such file ({path})")
        return path
    default = config.rootpath / "hil" / "bench.yaml"
    return default if is_file(default) else None


def make_session(config: pytest.Config, names: tuple[str, ...]) -> JetsonSession:
    """Build the session state for ``names``, loading the inventory when there is one (with
    the entry blocks plugins add, ``pytest_jetson_entry_blocks``)."""
    from pytest_jetson.bench import load_inventory

    path = bench_path(config)
    profile_dirs = [config.rootpath / "profiles"]
    inventory = None
    if path is not None:
        profile_dirs.append(path.parent.parent / "profiles")
        hook: Any = config.hook
        blocks = [b for found in hook.pytest_jetson_entry_blocks(config=config) for b in found]
        inventory = load_inventory(path, profile_dirs=profile_dirs, blocks=blocks)
    unique_dirs = tuple(dict.fromkeys(d.resolve() for d in profile_dirs))
    expanded: list[str] = []
    for name in names:
        if name.startswith("@"):
            pool = inventory.pool(name[1:]) if inventory is not None else []
            if not pool:
                raise UsageError(f"--dut {name}: no DUT of profile {name[1:]!r} in the inventory")
            expanded += pool
        else:
            expanded.append(name)
    return JetsonSession(
        config=config,
        dut_names=tuple(dict.fromkeys(expanded)),
        inventory=inventory,
        profile_dirs=unique_dirs,
    )
