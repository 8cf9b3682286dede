"""``results.json`` as a session writes it: every test of the DUT with its outcome and failure
class, nothing for a session that ran nothing (on a simulated DUT, no flash), and the writer as
a registered plugin."""

from __future__ import annotations

import json

import pytest

from tests.helpers import SPEED

TESTS = """
import pytest
from pytest_jetson.errors import BenchError

def test_passes(jetson_dut):
    pass

def test_product(jetson_dut):
    assert False

def test_bench(jetson_dut):
    raise BenchError("the bench broke")

def test_needs_no_dut():
    pass

@pytest.mark.skip(reason="not today")
def test_skipped(jetson_dut):
    pass
"""


def test_every_test_of_the_dut_with_its_outcome_and_failure_class(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_board=TESTS)
    artifacts = pytester.path / "artifacts"
    pytester.runpytest(
        "--dut=sim-orin", f"--jetson-artifacts={artifacts}", "-p", "no:cacheprovider"
    )
    data = json.loads((artifacts / "sim-orin" / "results.json").read_text())
    assert data["dut"] == "sim-orin" and data["profile"] == "sim-orin"
    got = {r["id"]: (r["outcome"], r["failure_class"]) for r in data["results"]}
    assert got == {
        "test_board.py::test_passes[sim-orin]": ("passed", ""),
        "test_board.py::test_product[sim-orin]": ("failed", "product"),
        "test_board.py::test_bench[sim-orin]": ("failed", "infra"),
        "test_board.py::test_needs_no_dut": ("passed", ""),  # one DUT: the run's tests are its
        "test_board.py::test_skipped[sim-orin]": ("skipped", ""),
    }
    assert all(r["duration_s"] >= 0 for r in data["results"]) and data["cycles"] == []


@pytest.mark.parametrize("option", ["--collect-only", "--setup-plan"])
def test_nothing_is_written_when_nothing_ran(pytester: pytest.Pytester, option: str) -> None:
    pytester.makepyfile(test_board=TESTS)
    artifacts = pytester.path / "artifacts"
    pytester.runpytest("--dut=sim-orin", f"--jetson-artifacts={artifacts}", option)
    assert not (artifacts / "sim-orin" / "results.json").exists()


def test_a_folder_conftest_runs_beside_the_results_writer(pytester: pytest.Pytester) -> None:
    """pytest hashes every registered plugin when it leaves out a folder's conftest.py for an
    item outside that folder (a flash step, beside ``hil/``'s tests): the writer must hash."""
    hil = pytester.mkdir("hil")
    (hil / "conftest.py").write_text("")
    (hil / "test_x.py").write_text("def test_x(jetson_dut):\n    assert jetson_dut.name\n")
    result = pytester.runpytest(
        "--dut=sim-orin", SPEED, "--jetson-flash", "--jetson-plan-only", "-p", "no:cacheprovider",
        "hil",
    )  # fmt: skip
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    result.assert_outcomes(passed=5)  # the preflights and the plan; the test is deselected


def test_the_run_report_is_named_last_or_why_it_was_not_written(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_board="def test_x(jetson_dut):\n    pass\n")
    report = pytester.path / "out" / "run.html"
    result = pytester.runpytest("--dut=sim-orin", f"--jetson-report={report}")
    assert result.stdout.lines[-2] == f"jetson report: {report}"
    assert report.read_text().startswith("<!DOCTYPE html>")
    (pytester.path / "file").write_text("")
    result = pytester.runpytest("--dut=sim-orin", f"--jetson-report={pytester.path / 'file' / 'r'}")
    assert "INTERNALERROR" not in result.stdout.str()
    result.stdout.fnmatch_lines(["jetson report: not written: *file/r: cannot write the report*"])
