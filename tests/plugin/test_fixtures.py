"""The console fixtures: a console that does not answer latches the DUT with its exception."""

from __future__ import annotations

import pytest

SHELL_TESTS = """
def test_first(jetson_shell):
    jetson_shell.run("true")

def test_second(jetson_shell):
    jetson_shell.run("true")
"""
LATCH_PROBE = """
from pathlib import Path

from pytest_jetson.plugin.session import get_session


def pytest_sessionfinish(session):
    dut = get_session(session.config).duts["sim-orin"]
    try:
        dut.transition("recovery")
    except Exception as exc:
        cause = type(exc.__cause__).__name__
        Path(str(session.config.rootpath), "latch.txt").write_text(f"{dut.broken}|{cause}")
"""


def test_a_silent_console_latches_the_dut_with_the_timeout(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(LATCH_PROBE)
    pytester.makepyfile(test_shell=SHELL_TESTS)
    result = pytester.runpytest(
        "--dut=sim-orin",
        "--jetson-sim-start=blank",
        "--jetson-deadline=login=0.5",
        "--jetson-deadline=recovery=0.5",  # the ladder's rungs do not wake a blank board
        "-rs",
    )
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(
        [
            "SKIPPED*test_shell.py:1: no shell on DUT sim-orin: console *: timed out after 0.5 s*",
            "SKIPPED*test_shell.py:4: DUT sim-orin is broken: no shell on DUT sim-orin: console *",
        ]
    )
    broken, cause = (pytester.path / "latch.txt").read_text().rsplit("|", 1)
    assert broken.startswith("no shell on DUT sim-orin: console ")
    assert cause == "ConsoleTimeout"
