"""What many tests share: the simulated clock's speed, waits with a deadline, finders of live
processes, readers of a run's JUnit XML and summaries, and real ``python -m pytest`` sessions.

Test modules import it as ``from tests.helpers import ...`` (conftest modules are not importable).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SPEED = "--jetson-sim-speed=8"
"""The simulated clock of a pytester run: eight times faster than a real bench."""

FAST = 20.0
"""Speed factor of simulated tools run directly: a flash and a boot in well under a second."""

CONSOLE_MODULE = "pytest_jetson.sim.console"

HIL_TEST = """
def test_on_the_board(jetson_shell):
    assert jetson_shell.run("echo on-the-board").strip() == "on-the-board"
"""

PAIR = """
lock_dir: locks
duts:
  pair-a:
    sim: {board: orin-agx}
    default_user: ubuntu
  pair-b:
    sim: {board: thor-agx}
    default_user: nvidia
"""


# -- waiting ----------------------------------------------------------------------------------


def wait_for(
    done: Callable[[], bool], timeout: float = 10.0, what: str = "condition", proc: Any = None
) -> None:
    """Poll ``done()`` until true; fail saying what was awaited, how long (and what the
    :class:`Session` ``proc`` printed, failing at once if it ended first)."""
    deadline = time.monotonic() + timeout
    while not done():
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the session ended (exit {proc.returncode}) before {what}:\n{proc.text()}")
        if time.monotonic() > deadline:
            extra = f"; the session printed:\n{proc.text()}" if proc is not None else ""
            pytest.fail(f"{what} not reached within {timeout} s{extra}")
        time.sleep(0.01)


def remaining(find: Callable[[], list[int]], timeout: float = 10.0) -> list[int]:
    """Poll ``find()`` until it finds nothing; what it still finds after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        left = find()
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.02)


def wait_gone(pid: int, timeout: float = 5.0) -> bool:
    """Whether process ``pid`` is gone (or a zombie) within ``timeout`` seconds."""
    return not remaining(lambda: [pid] if alive(pid) else [], timeout)


# -- live processes -------------------------------------------------------------------------


@dataclass(frozen=True)
class Process:
    """A live (not zombie) process other than this one, as /proc shows it."""

    pid: int
    argv: tuple[str, ...]
    cwd: str

    @property
    def cmdline(self) -> str:
        return " ".join(self.argv)


def proc_state(pid: int) -> str:
    """The state letter of ``pid`` in /proc (``R``, ``S``, ``T``, ``Z``...) or ``gone``."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "gone"


def alive(pid: int) -> bool:
    """A process exists and is not a zombie."""
    return proc_state(pid) not in ("gone", "Z", "X")


def live_processes() -> Iterator[Process]:
    """Every live process but this one."""
    for entry in Path("/proc").glob("[0-9]*"):
        pid = int(entry.name)
        try:
            raw = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if pid == os.getpid() or not alive(pid):
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            cwd = ""
        yield Process(pid, tuple(a.decode(errors="replace") for a in raw if a), cwd)


def processes_with(*parts: str) -> dict[int, list[str]]:
    """Live processes whose argv has every one of ``parts`` as an argument: pid -> argv."""
    return {p.pid: list(p.argv) for p in live_processes() if all(a in p.argv for a in parts)}


def processes_mentioning(text: str) -> list[int]:
    """Pids of live processes whose command line contains ``text``."""
    return [p.pid for p in live_processes() if text in p.cmdline]


def processes_in(folder: Path) -> list[int]:
    """Pids of live processes whose working directory is ``folder``."""
    return [p.pid for p in live_processes() if p.cwd and Path(p.cwd) == folder]


def processes_under(prefix: str) -> list[str]:
    """Live processes whose command line or working directory lies under ``prefix``."""
    return [
        f"{p.pid}: {p.cmdline} (cwd {p.cwd})"
        for p in live_processes()
        if prefix in p.cmdline or p.cwd.startswith(prefix)
    ]


def consoles_of(pid: int) -> dict[int, list[str]]:
    """The simulated console processes owned by session ``pid``."""
    return {
        p: argv for p, argv in processes_with("-m", CONSOLE_MODULE).items() if argv[-1] == str(pid)
    }


def remove_sim_workdirs(consoles: dict[int, list[str]]) -> None:
    """Remove the private folders of a session that could not clean up (it was killed)."""
    for argv in consoles.values():
        state_dir = Path(next(a for a in argv if "/sim-host/" in a))
        workdir = Path(str(state_dir).split("/sim-host/", 1)[0])
        if workdir.name.startswith("pytest-jetson-"):
            shutil.rmtree(workdir, ignore_errors=True)


# -- what a run leaves behind ------------------------------------------------------------------


def junit_suite(path: Path) -> ET.Element:
    """The ``<testsuite>`` of a JUnit XML file."""
    suite = ET.parse(path).getroot()
    if suite.tag != "testsuite":
        found = suite.find("testsuite")
        assert found is not None, f"no <testsuite> in {path}"
        suite = found
    return suite


def junit_cases(path: Path) -> list[ET.Element]:
    """Every JUnit testcase of a run."""
    return list(ET.parse(path).getroot().iter("testcase"))


def properties(case: ET.Element) -> dict[str, str]:
    """A testcase's JUnit properties."""
    return {p.get("name", ""): p.get("value", "") for p in case.iter("property")}


def outcome(case: ET.Element) -> str:
    """``passed``, ``failure``, ``error`` or ``skipped`` from a JUnit testcase."""
    for kind in ("failure", "error", "skipped"):
        if case.find(kind) is not None:
            return kind
    return "passed"


def summary(artifacts: Path, dut: str) -> dict[str, Any]:
    """The persisted flash summary of ``dut``."""
    data: dict[str, Any] = json.loads((artifacts / dut / "summary.json").read_text())
    return data


def sim_calls(state: Path, tool: str) -> list[tuple[str, ...]]:
    """The argv of every run of simulated ``tool`` that reached the DUT kept in the ``sim:``
    ``state`` folder ``state``, as the simulator logged it (boardctl: its command)."""
    from pytest_jetson.sim.state import tool_calls

    return [call.argv for call in tool_calls(state / "dut") if call.tool == tool]


# -- benches and sessions -----------------------------------------------------------------------


def run_flash(pytester: pytest.Pytester, duts: str, *options: str) -> tuple[pytest.RunResult, Path]:
    """``pytest --dut=<duts> --jetson-flash --jetson-artifacts=art <options>
    --jetson-accept-plan test_hil.py`` in the pytester folder (``SPEED`` unless ``options``
    give a ``--jetson-sim-speed``); the result and the artifacts folder."""
    artifacts = pytester.path / "art"
    speed = [] if any(o.startswith("--jetson-sim-speed") for o in options) else [SPEED]
    result = pytester.runpytest(
        f"--dut={duts}",
        "--jetson-flash",
        *speed,
        f"--jetson-artifacts={artifacts}",
        *options,
        "--jetson-accept-plan",
        "test_hil.py",
    )
    return result, artifacts


def write_bench(pytester: pytest.Pytester, text: str = PAIR) -> Path:
    """Write ``hil/bench.yaml`` (found by default under the rootdir) and return its path."""
    path = pytester.path / "hil" / "bench.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


@dataclass
class Session:
    """A ``python -m pytest`` session running as a real process (its own process group)."""

    popen: subprocess.Popen[bytes]
    out: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def poll(self) -> int | None:
        return self.popen.poll()

    @property
    def returncode(self) -> int | None:
        return self.popen.returncode

    def text(self) -> str:
        """Everything the session printed so far."""
        return self.out.read_text(errors="replace") if self.out.exists() else ""

    def wait(self, within: float = 30.0) -> int:
        try:
            return self.popen.wait(within)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"session pid {self.pid} did not end within {within} s:\n{self.text()}")

    def signal(self, sig: signal.Signals) -> None:
        """Send ``sig`` to the pytest process alone."""
        os.kill(self.popen.pid, sig)

    def kill(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()
