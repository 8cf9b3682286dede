"""Fixtures of the end-to-end tests: pytest runs over the simulated bench, as a user runs them.

``flow_run`` drives the plugin in-process with ``pytester.runpytest`` against a built-in simulated
DUT, a fast simulated clock and a private artifacts folder, then reads what a user would read:
the outcomes, the terminal output, the JUnit XML, the summary JSON and the logs.
``start_session`` runs ``python -m pytest`` as a separate process (locks, signals, kills).
``typed`` runs a command the way a user types it, in a fresh working folder that holds what a
clone of the project holds for a user (``hil/``, ``profiles/`` and ``pyproject.toml``), with the
installed package. ``browser`` is a real headless browser for the reports: Debian's ``chromium``
driven by selenium through Debian's ``chromium-driver`` (nothing downloads a browser; ``.ci/run``
installs both); without them its tests skip, except under CI (``$CI`` set) where they fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import HIL_TEST, SPEED, Session, junit_cases, properties

PROJECT = Path(__file__).resolve().parents[2]
COMMAND_TIMEOUT = 300
"""A bound on each command, so a story that hangs fails instead of blocking the suite."""
FACTORY = "--jetson-sim-start=factory"
"""The DUT starts on another release than its tree's, so the ``release`` step proves the flash
took (a board already running the tree would pass it without one)."""

Typed = Callable[..., subprocess.CompletedProcess[str]]


@dataclass
class FlowRun:
    """One ``pytest --jetson-flash`` run and what it left behind."""

    result: pytest.RunResult
    artifacts: Path
    junit: Path
    dut: str

    @property
    def text(self) -> str:
        """Everything the run printed."""
        return self.result.stdout.str() + self.result.stderr.str()

    @property
    def summary(self) -> dict[str, Any]:
        """The persisted summary JSON of the DUT."""
        data: dict[str, Any] = json.loads((self.artifacts / self.dut / "summary.json").read_text())
        return data

    def log(self, name: str) -> str:
        """An artifacts log of the DUT."""
        return (self.artifacts / self.dut / name).read_text(errors="replace")

    def cases(self) -> dict[str, ET.Element]:
        """JUnit testcases by name."""
        return {case.get("name", ""): case for case in junit_cases(self.junit)}

    def outcome_of(self, step: str) -> str:
        """``passed``/``failed``/``skipped`` of the step item from the JUnit XML."""
        case = self.step_case(step)
        for kind in ("failure", "error", "skipped"):
            if case.find(kind) is not None:
                return "failed" if kind in ("failure", "error") else "skipped"
        return "passed"

    def step_case(self, step: str) -> ET.Element:
        """The JUnit testcase of a step item (its name contains the step name)."""
        found = [
            case
            for name, case in self.cases().items()
            if re.fullmatch(rf"(\d\d-)?{re.escape(step)}(\[.*\])?", name)
        ]
        assert len(found) == 1, f"no single JUnit testcase for step {step}: {list(self.cases())}"
        return found[0]

    def failure_node(self, step: str) -> ET.Element:
        """The ``<failure>`` (product) or ``<error>`` (infra) of a failed step in the JUnit XML."""
        case = self.step_case(step)
        node = case.find("failure")
        if node is None:
            node = case.find("error")
        assert node is not None, f"step {step} did not fail"
        return node

    def failure_text(self, step: str) -> str:
        """The failure message and text of a step in the JUnit XML."""
        node = self.failure_node(step)
        return (node.get("message") or "") + "\n" + (node.text or "")

    def skip_reason(self, step: str) -> str:
        """Why a step was skipped (JUnit)."""
        node = self.step_case(step).find("skipped")
        assert node is not None, f"step {step} was not skipped"
        return node.get("message") or ""

    def properties(self, step: str) -> dict[str, str]:
        """A step's JUnit properties."""
        return properties(self.step_case(step))

    def sim_root(self) -> str:
        """The simulated bench's private folder (from the first command of a log)."""
        for name in ("flash.log", "boardctl.log", "eeprom.log"):
            path = self.artifacts / self.dut / name
            if path.is_file():
                first = path.read_text().splitlines()[0]
                lft = first.split("$ cd ", 1)[1].split(" && ", 1)[0]
                return lft.split("/sim-host/", 1)[0]
        raise AssertionError("no log names the simulated tree")


@pytest.fixture
def flow_run(pytester: pytest.Pytester) -> Callable[..., FlowRun]:
    """Run ``--jetson-flash`` on a simulated DUT: ``flow_run(dut, *options, accept=...)``.

    ``accept`` is the ``--jetson-accept-plan`` argument as typed (None: not given). The run's
    ordinary test is :data:`HIL_TEST`.
    """
    pytester.makepyfile(test_hil=HIL_TEST)
    count = 0

    def run(dut: str, *options: str, accept: str | None = "--jetson-accept-plan") -> FlowRun:
        nonlocal count
        count += 1
        artifacts = pytester.path / f"artifacts-{count}"
        junit = pytester.path / f"junit-{count}.xml"
        args = [
            f"--dut={dut}",
            "--jetson-flash",
            SPEED,
            FACTORY,
            f"--jetson-artifacts={artifacts}",
            f"--junitxml={junit}",
            "-rA",
            *options,
        ]
        if accept is not None:
            args.append(accept)  # a bare --jetson-accept-plan stands before the path
        args.append("test_hil.py")
        return FlowRun(pytester.runpytest(*args), artifacts, junit, dut)

    return run


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


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A fresh working folder laid out like a clone of the project."""
    shutil.copytree(PROJECT / "hil", tmp_path / "hil", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(PROJECT / "profiles", tmp_path / "profiles")
    shutil.copy2(PROJECT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.fixture
def typed(workdir: Path) -> Typed:
    """``typed("pytest", "--dut=sim-orin", "hil/")``: run a command as a user types it in
    the working folder (``pytest`` and ``python`` are this environment's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "JETSON_"))}

    def run(program: str, *args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "pytest"] if program == "pytest" else [sys.executable]
        return subprocess.run(
            [*argv, *args],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )

    return run


CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
BROWSER_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,1000",
)


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A headless Chromium with a fresh profile, for the whole session."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        message = f"{', '.join(missing)} missing (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tmp_path_factory.mktemp("chromium-profile")
    for flag in (*BROWSER_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
