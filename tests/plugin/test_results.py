"""The session's results writer (``results.json``) as a registered plugin."""

from __future__ import annotations

import pytest

from tests.helpers import SPEED


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
