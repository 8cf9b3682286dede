"""Shared helpers of the bench-operations tests (issue 7): inventories of simulated DUTs with a
private lock directory, pytest sessions run as real processes, and readers of what a run left
behind (JUnit XML, summaries, holder records, live processes).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SPEED = "--jetson-sim-speed=8"
CONSOLE_MODULE = "pytest_jetson.sim.console"

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

HIL_TEST = """
def test_on_the_board(jetson_shell):
    assert jetson_shell.run("echo on-the-board").strip() == "on-the-board"
"""


def write_bench(pytester: pytest.Pytester, text: str = PAIR) -> Path:
    """Write ``hil/bench.yaml`` (found by default under the rootdir) and return its path."""
    path = pytester.path / "hil" / "bench.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def wait_for(what: str, done: Callable[[], bool], within: float, proc: Any = None) -> None:
    """Wait until ``done()``; fail saying what was awaited (and what ``proc`` printed)."""
    deadline = time.monotonic() + within
    while not done():
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the session ended (exit {proc.returncode}) before {what}:\n{proc.text()}")
        if time.monotonic() > deadline:
            extra = f"; the session printed:\n{proc.text()}" if proc is not None else ""
            pytest.fail(f"{what} did not happen within {within} s{extra}")
        time.sleep(0.02)


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


@pytest.fixture
def start_session(pytester: pytest.Pytester) -> Iterator[Callable[..., Session]]:
    """``start_session(*args)``: run pytest in the pytester folder as a separate process."""
    started: list[Session] = []

    def start(*args: str) -> Session:
        out = pytester.path / f"session-{len(started) + 1}.out"
        with out.open("wb") as sink:
            popen = subprocess.Popen(
                [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                cwd=pytester.path,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        session = Session(popen, out)
        started.append(session)
        return session

    yield start
    for session in started:
        session.kill()


def processes_with(*parts: str) -> dict[int, list[str]]:
    """Live (non-zombie) processes whose argv contains every one of ``parts``."""
    found: dict[int, list[str]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            raw = (entry / "cmdline").read_bytes().split(b"\0")
            argv = [a.decode(errors="replace") for a in raw if a]
            state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in ("Z", "X") and all(p in argv for p in parts):
            found[int(entry.name)] = argv
    return found


def consoles_of(pid: int) -> dict[int, list[str]]:
    """The simulated console processes owned by session ``pid``."""
    return {
        p: argv for p, argv in processes_with("-m", CONSOLE_MODULE).items() if argv[-1] == str(pid)
    }


def remove_sim_workdirs(consoles: dict[int, list[str]]) -> None:
    """Remove the private folders of a session that could not clean up (it was killed)."""
    import shutil

    for argv in consoles.values():
        state_dir = Path(next(a for a in argv if "/sim-host/" in a))
        workdir = Path(str(state_dir).split("/sim-host/", 1)[0])
        if workdir.name.startswith("pytest-jetson-"):
            shutil.rmtree(workdir, ignore_errors=True)


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


@pytest.fixture
def ops() -> Any:
    """This module, so tests use its helpers (test files cannot import a conftest)."""
    return sys.modules[__name__]
