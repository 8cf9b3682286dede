"""Shared helpers of the end-to-end ``--jetson-flash`` tests (pytester over the simulated bench).

Each test drives the plugin in-process with ``pytester.runpytest`` against a built-in simulated
DUT, a fast simulated clock and a private artifacts folder, then reads what a user would read:
the outcomes, the terminal output, the JUnit XML, the summary JSON and the logs.
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SPEED = "--jetson-sim-speed=8"
FACTORY = "--jetson-sim-start=factory"
"""The DUT starts on another release than its tree's, so the ``release`` step proves the flash
took (a board already running the tree would pass it without one)."""

HIL_TEST = """
def test_on_the_board(jetson_shell):
    assert jetson_shell.run("echo on-the-board").strip() == "on-the-board"
"""


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
        root = ET.parse(self.junit).getroot()
        return {case.get("name", ""): case for case in root.iter("testcase")}

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
        case = self.step_case(step)
        return {p.get("name", ""): p.get("value", "") for p in case.iter("property")}

    def sim_root(self) -> str:
        """The simulated bench's private folder (from the first command of a log)."""
        for name in ("flash.log", "boardctl.log", "eeprom.log"):
            path = self.artifacts / self.dut / name
            if path.is_file():
                first = path.read_text().splitlines()[0]
                lft = first.split("$ cd ", 1)[1].split(" && ", 1)[0]
                return lft.split("/sim-host/", 1)[0]
        raise AssertionError("no log names the simulated tree")


def _processes_under(prefix: str) -> list[str]:
    """Live processes whose command line or working directory lies under ``prefix``."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X"):
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            cwd = ""
        if prefix in cmdline or cwd.startswith(prefix):
            found.append(f"{entry.name}: {cmdline.strip()} (cwd {cwd})")
    return found


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
def processes_under() -> Callable[[str], list[str]]:
    """``processes_under(prefix)``: live processes whose argv or cwd lie under ``prefix``."""
    return _processes_under
