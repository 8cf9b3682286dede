"""The plugin's per-session work, as one plugin object registered when a DUT is selected.

Shaped like pytest's own ``StepwisePlugin``: ``pytest_configure`` registers a
:class:`JetsonPlugin` only when ``--dut`` (or ``$JETSON_DUT``) names a DUT, so without one none
of these hooks exists. Options, ini keys, markers and fixtures stay registered always (the
fixtures then skip with "no DUT selected (use --dut NAME)").
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_jetson.plugin.session import JetsonSession

PLUGIN_NAME = "jetson-session"
"""The name the plugin object is registered under."""

DUT_MARKERS = ("jetson_preflight", "jetson_chip")
"""Markers that make a test run against the DUTs, like a ``jetson_*`` fixture does."""

INFRA = ("failure_class", "infra")
PRODUCT = ("failure_class", "product")


class JetsonPlugin:
    """Parametrises DUT tests per DUT, schedules one xdist worker per DUT, names the DUT of
    every result and classifies failures, rewrites JUnit infra failures, and closes the
    session (locks, consoles, what other plugins started) at unconfigure."""

    def __init__(self, config: pytest.Config, state: JetsonSession) -> None:
        self.config = config
        self.state = state

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Run every test that needs a DUT once per selected DUT (the id names the DUT)."""
        needs_dut = any(name.startswith("jetson_") for name in metafunc.fixturenames) or any(
            metafunc.definition.get_closest_marker(m) for m in DUT_MARKERS
        )
        if not needs_dut:
            return
        if "jetson_dut_name" not in metafunc.fixturenames:
            metafunc.fixturenames.append("jetson_dut_name")
        names = list(self.state.dut_names)
        metafunc.parametrize("jetson_dut_name", names, indirect=True, scope="session")

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        """Under pytest-xdist, one worker owns each DUT: its steps and tests go to it together."""
        from pytest_jetson.plugin.xdist import DutScheduling

        return DutScheduling(config, log, duts=self.state.dut_names)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        """Name the DUT of every result (JUnit property ``dut``) and classify failures: the
        bench (infra) apart from the product (the image, a test)."""
        dut = _item_dut(item)
        if dut is not None and ("dut", dut) not in item.user_properties:
            item.user_properties.append(("dut", dut))
        report = yield
        if report.failed and call.excinfo is not None:
            _classify(item, report, call.excinfo.value)
        return report

    def pytest_report_teststatus(self, report: pytest.TestReport, config: pytest.Config) -> Any:
        """An infrastructure failure is an error (CI may retry it); a preflight defect, found
        while setting a test up, is a failure of the product, not an error."""
        if report.when == "call" and report.failed and INFRA in report.user_properties:
            return "error", "E", ("ERROR", {"red": True})
        defect = ("preflight", "defect")
        if report.when == "setup" and report.failed and defect in report.user_properties:
            return "failed", "F", ("FAILED", {"red": True})
        return None

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """After pytest wrote ``--junitxml``: infrastructure failures become ``<error>`` there."""
        xmlpath = self.config.getoption("xmlpath", None)
        if not xmlpath or hasattr(self.config, "workerinput"):
            return
        from pytest_jetson.plugin.junit import reclassify_infra_failures

        path = Path(os.path.expanduser(os.path.expandvars(str(xmlpath))))
        if path.is_file():
            reclassify_infra_failures(path)

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        """Ctrl-C or SIGTERM that landed between steps (in pytest's own code): every flash
        flow still under way records ``interrupted`` (a running step records it itself)."""
        from pytest_jetson.plugin.steps import interrupt_cause

        why = interrupt_cause(excinfo.value)
        for flow in self.state.flows.values():
            flow.interrupt(None, why)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """Stop whatever the session started (simulated DUTs, consoles, locks)."""
        from pytest_jetson.plugin.session import STATE_KEY

        if config.stash.get(STATE_KEY, None) is self.state:
            del config.stash[STATE_KEY]
            self.state.close()


def _classify(item: pytest.Item, report: pytest.TestReport, exc: BaseException) -> None:
    """Mark a failure infra or product (item and report), a preflight defect as such, and show
    a domain error met outside the test body as its message."""
    prop = INFRA if _is_infra(exc) else PRODUCT
    if prop not in item.user_properties:
        item.user_properties.append(prop)
    if prop not in report.user_properties:
        report.user_properties.append(prop)
    from pytest_jetson.plugin.outcomes import DEFECT, DefectFailed

    if isinstance(exc, DefectFailed):
        report.user_properties.append(DEFECT)
    from pytest_jetson.errors import JetsonError
    from pytest_jetson.host.lock import LockError

    domain = isinstance(exc, LockError | DefectFailed)
    if domain or (report.when != "call" and isinstance(exc, JetsonError)):
        # A DUT that is held, a place that cannot be had, a preflight defect, a bench that
        # broke while a fixture set it up: not a code path to debug, the domain message says
        # it all (without the exception's class name, which means nothing to a user).
        report.longrepr = str(exc)


def _item_dut(item: pytest.Item) -> str | None:
    """The DUT an item runs against: a flash step's, or its ``jetson_dut_name`` parameter."""
    step_dut = getattr(item, "dut_name", None)
    if isinstance(step_dut, str):
        return step_dut
    from pytest_jetson.plugin.markers import item_dut

    return item_dut(item, "") or None


def _is_infra(exc: BaseException) -> bool:
    from pytest_jetson.errors import BenchError

    return isinstance(exc, BenchError) or bool(getattr(exc, "infra", False))
