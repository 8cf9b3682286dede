"""Per-session state of the plugin: the selected DUTs, their resolved bench entries, the
simulated host (when any DUT is simulated) and the broken latch.

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

from pytest_jetson.errors import UsageError

if TYPE_CHECKING:
    from pytest_jetson.bench import BenchEntry, Inventory
    from pytest_jetson.profile import Profile
    from pytest_jetson.sim.host import SimHost

# Heavy modules (yaml, the simulator) are imported inside functions: without --dut the plugin
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
    broken: dict[str, str] = field(default_factory=dict)
    """DUT name → the reason it was latched broken (later tests skip with it)."""
    sim_host: SimHost | None = None
    _closers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def default_dut(self) -> str:
        """The DUT that single-DUT fixtures use."""
        return self.dut_names[0]

    def known_names(self) -> list[str]:
        """Every DUT name this bench knows (built-in simulated ones included)."""
        from pytest_jetson.bench import SIM_DUTS

        names = set(SIM_DUTS)
        if self.inventory is not None:
            names.update(self.inventory.names)
        return sorted(names)

    def entry(self, name: str, workdir_factory: Callable[[str], Path]) -> BenchEntry:
        """The resolved bench entry of DUT ``name`` (resolving it on first use)."""
        entry = self.entries.get(name)
        if entry is None:
            workdir = workdir_factory(name)
            hook: Any = self.config.hook
            entry = hook.pytest_jetson_resolve_dut(config=self.config, name=name, workdir=workdir)
            if entry is None:
                raise UsageError(
                    f"unknown DUT {name!r}; known DUTs: {', '.join(self.known_names())}"
                )
            override = self.config.getoption("jetson_profile")
            if override is not None:
                entry = replace(entry, profile=self.load_profile_ref(override))
            self.entries[name] = entry
        return entry

    def load_profile_ref(self, ref: str) -> Profile:
        """Load a profile given as a path, or as a bare name found in the profile folders."""
        from pytest_jetson.profile import load_profile

        path = Path(ref).expanduser()
        if path.is_file():
            return load_profile(path)
        for folder in self.profile_dirs:
            candidate = folder / f"{ref}.yaml"
            if candidate.is_file():
                return load_profile(candidate)
        looked = ", ".join(str(d) for d in self.profile_dirs)
        raise UsageError(f"--jetson-profile {ref!r}: no such file, and no {ref}.yaml in {looked}")

    def get_sim_host(self, workdir: Path) -> SimHost:
        """The session's simulated host, started on first use."""
        if self.sim_host is None:
            from pytest_jetson.sim.host import SimHost

            self.sim_host = SimHost(workdir)
        return self.sim_host

    def on_close(self, closer: Callable[[], None]) -> None:
        """Run ``closer`` when the session ends (last registered runs first)."""
        self._closers.append(closer)

    def close(self) -> None:
        """Release everything the session started: simulated DUTs, consoles, locks."""
        while self._closers:
            self._closers.pop()()
        if self.sim_host is not None:
            host, self.sim_host = self.sim_host, None
            host.close()


STATE_KEY = pytest.StashKey[JetsonSession]()


def get_session(config: pytest.Config) -> JetsonSession | None:
    """The session state, or None when no DUT was selected (the plugin is inert)."""
    return config.stash.get(STATE_KEY, None)


def selected_duts(config: pytest.Config) -> tuple[str, ...]:
    """The DUT names of ``--dut`` (or ``$JETSON_DUT``), comma-separated, in order."""
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
        path = Path(option).expanduser()
        if not path.is_file():
            raise UsageError(f"--jetson-bench {option}: no such file")
        return path.resolve()
    ini = config.getini("jetson_bench")
    if ini:
        path = Path(str(ini)).expanduser()
        path = path if path.is_absolute() else config.rootpath / path
        if not path.is_file():
            raise UsageError(f"ini jetson_bench = {ini}: no such file ({path})")
        return path
    default = config.rootpath / "hil" / "bench.yaml"
    return default if default.is_file() else None


def make_session(config: pytest.Config, names: tuple[str, ...]) -> JetsonSession:
    """Build the session state for ``names``, loading the inventory when there is one."""
    from pytest_jetson.bench import load_inventory

    path = bench_path(config)
    profile_dirs = [config.rootpath / "profiles"]
    inventory = None
    if path is not None:
        profile_dirs.append(path.parent.parent / "profiles")
        inventory = load_inventory(path, profile_dirs=profile_dirs)
    unique_dirs = tuple(dict.fromkeys(d.resolve() for d in profile_dirs))
    return JetsonSession(
        config=config, dut_names=names, inventory=inventory, profile_dirs=unique_dirs
    )
