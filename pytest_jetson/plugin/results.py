"""``results.json`` next to each DUT's ``summary.json``: every test and step of that DUT (id,
outcome, failure class, duration) and its boot cycles, so a run's artifacts folder is
self-contained for the gate. ``--jetson-report FILE`` renders the run as HTML.

Reports are gathered where they all arrive: in the controller under pytest-xdist (a worker's
reports carry the ``dut`` and ``boot_cycle`` properties there), in the one process otherwise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pytest_jetson.plugin.session import JetsonSession


@dataclass
class _Entry:
    id: str
    outcome: str = "passed"
    failure_class: str = ""
    duration_s: float = 0.0
    attempts: list[str] = field(default_factory=list)
    cycle: dict[str, Any] | None = None


@dataclass(eq=False)
class ResultsWriter:
    """Collects every report of the session's DUTs; writes them when the session ends.

    A registered plugin must hash (pytest keeps plugins in sets, e.g. to leave a folder's
    conftest.py out of an item's hook calls), so it compares by identity (``eq=False``)."""

    state: JetsonSession
    entries: dict[str, dict[str, _Entry]] = field(default_factory=dict)
    report: str = ""
    """What became of the ``--jetson-report`` (the terminal summary's last line says it)."""

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Fold one phase's report into its test's entry."""
        props = {str(p[0]): p[1] for p in report.user_properties}
        dut = props.get("dut")
        if not isinstance(dut, str) and len(self.state.dut_names) == 1:
            dut = self.state.dut_names[0]  # one DUT: a test that needs none still ran against it
        if not isinstance(dut, str):
            return
        tests = self.entries.setdefault(dut, {})
        entry = tests.get(report.nodeid)
        if entry is None or (report.when == "setup" and entry.attempts):
            entry = tests[report.nodeid] = _rerun(entry, report.nodeid)
        entry.duration_s += report.duration
        if report.failed:
            entry.outcome = "failed"
            default = "product" if report.when == "call" else "infra"
            entry.failure_class = str(props.get("failure_class", default))
        elif report.skipped and entry.outcome == "passed":
            entry.outcome = "skipped"
        if "boot_cycle" in props:
            entry.cycle = json.loads(str(props["boot_cycle"]))
        if report.when == "teardown" or (report.when == "setup" and not report.passed):
            entry.attempts.append(entry.outcome)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Write each DUT's ``results.json`` (and the ``--jetson-report``)."""
        config = session.config
        if hasattr(config, "workerinput") or _inspecting(config):
            return
        runs = [self.write(name) for name in self.state.dut_names if self.entries.get(name)]
        report = config.getoption("jetson_report")
        if report:
            from pytest_jetson.errors import ConfigError
            from pytest_jetson.promotion.gate import write_report
            from pytest_jetson.promotion.report import render_run

            try:
                write_report(Path(report), render_run(runs))
                self.report = f"jetson report: {report}"
            except ConfigError as exc:  # a folder that cannot be written: say so, no traceback
                self.report = f"jetson report: not written: {exc}"

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        """Name the run's HTML report (after the session's progress line is complete)."""
        if self.report:
            terminalreporter.write_line(self.report)

    def write(self, dut: str) -> Any:
        """Write one DUT's ``results.json``; the results it wrote."""
        from pytest_jetson.cycles.record import CycleRecord
        from pytest_jetson.promotion.results import SUMMARY_FILE, RunResults, TestResult, identity

        folder = self.state.artifacts / dut
        entries = list(self.entries.get(dut, {}).values())
        cycles = tuple(CycleRecord.from_json(_cycle(e)) for e in entries if e.cycle is not None)
        summary: dict[str, Any] = {}
        if (folder / SUMMARY_FILE).is_file():
            summary = json.loads((folder / SUMMARY_FILE).read_text())
        profile, target, image = identity(summary, cycles)
        entry = self.state.entries.get(dut)  # resolved in this process (no flash: no summary)
        if entry is not None and not profile:
            profile, target = entry.profile.path.stem, entry.profile.target_name
        run = RunResults(
            dut=dut,
            profile=profile,
            target=target,
            image=image,
            results=tuple(
                TestResult(
                    e.id,
                    e.outcome,
                    e.failure_class,
                    e.duration_s,
                    tuple(e.attempts) if len(e.attempts) > 1 else (),
                )
                for e in entries
            ),
            cycles=cycles,
        )
        run.write(folder)
        return run


def _inspecting(config: pytest.Config) -> bool:
    """``--setup-only``, ``--setup-plan`` or ``--collect-only``: nothing ran, nothing to write."""
    return any(config.getoption(o, False) for o in ("setuponly", "setupplan", "collectonly"))


def _rerun(previous: _Entry | None, nodeid: str) -> _Entry:
    """A fresh entry; a test run again (reruns) keeps the earlier attempts' outcomes."""
    entry = _Entry(nodeid)
    if previous is not None:
        entry.attempts = list(previous.attempts)
    return entry


def _cycle(entry: _Entry) -> dict[str, Any]:
    """The cycle record of a cycle item (a skipped one has only its index and reason)."""
    data = dict(entry.cycle or {})
    data.setdefault("outcome", entry.outcome)
    if entry.outcome == "failed" and not data.get("failure_class"):
        data["failure_class"] = entry.failure_class
    return data
