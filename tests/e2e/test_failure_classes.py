"""Failure classes: the bench (infra) is reported apart from the product, as a pytest error
with ``failure_class=infra``; the image or a test assertion is a failure with
``failure_class=product``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import SPEED, junit_cases, junit_suite, outcome, properties, summary, write_bench

FAULTY = """
lock_dir: locks
duts:
  pair-a:
    sim: {board: orin-agx, faults: [no_rcm]}
    default_user: ubuntu
    deadlines: {rcm: 1}
    ladder: [reset]
  pair-b:
    sim: {board: orin-agx, faults: [kernel_panic]}
    default_user: ubuntu
"""

TESTS = """
def test_on_the_board(jetson_shell):
    assert jetson_shell.run("echo up").strip() == "up"
"""

IN_TESTS = """
from pytest_jetson.errors import BenchError


def test_bench_breaks_under_the_test(jetson_dut):
    raise BenchError("the console of the bench went away")


def test_product_assertion(jetson_dut):
    assert jetson_dut.name == "something else"


def test_plain_assertion():
    assert 1 + 1 == 3
"""


def by_name(junit: Any) -> dict[str, Any]:
    return {f"{c.get('classname')}::{c.get('name')}": c for c in junit_cases(junit)}


def test_flash_flow_infra_and_product_failures_are_told_apart(pytester: pytest.Pytester) -> None:
    write_bench(pytester, FAULTY)
    pytester.makepyfile(test_hil=TESTS)
    result = pytester.runpytest(
        "--dut=pair-a,pair-b",
        "--jetson-flash",
        SPEED,
        f"--jetson-artifacts={pytester.path / 'art'}",
        "--junitxml=junit.xml",
        "-rA",
        "--jetson-accept-plan",
        "test_hil.py",
    )

    outcomes = result.parseoutcomes()
    assert outcomes.get("errors", outcomes.get("error")) == 1, outcomes  # pair-a: no RCM
    assert outcomes.get("failed") == 1, outcomes  # pair-b: kernel panic
    result.stdout.fnmatch_lines(
        [
            "ERROR jetson-flash[[]pair-a[]]::02-preflight-rcm - *",
            "FAILED jetson-flash[[]pair-b[]]::12-kernel - *",
        ]
    )
    cases = by_name(pytester.path / "junit.xml")
    rcm = cases["jetson-flash[pair-a]::02-preflight-rcm"]
    props = properties(rcm)
    climbed = props.pop("jetson_recovery")  # the bench symptom climbed the ladder
    assert props == {"dut": "pair-a", "failure_class": "infra"}
    assert climbed.startswith("preflight rcm: the DUT did not appear in recovery")
    assert "→ reset: failed (still: the DUT did not appear" in climbed
    kernel = cases["jetson-flash[pair-b]::12-kernel"]
    assert properties(kernel)["failure_class"] == "product"
    assert properties(kernel)["dut"] == "pair-b"
    # JUnit says what the terminal says: the bench's failure is an <error>, the image's a
    # <failure>, and the suite's counts agree.
    assert outcome(rcm) == "error" and outcome(kernel) == "failure"
    assert "within 1 s" in rcm.find("error").get("message", "")  # the bench's rcm deadline
    suite = junit_suite(pytester.path / "junit.xml")
    assert (suite.get("errors"), suite.get("failures")) == ("1", "1")
    classes = {
        name: properties(case).get("failure_class")
        for name, case in cases.items()
        if outcome(case) in ("passed", "skipped")
    }
    assert set(classes.values()) == {None}, classes  # only failures are classified
    assert summary(pytester.path / "art", "pair-b")["outcome"] == "failed"


def test_bench_error_in_a_test_is_infra_an_assertion_is_product(pytester: pytest.Pytester) -> None:
    write_bench(pytester)
    pytester.makepyfile(test_in=IN_TESTS)
    result = pytester.runpytest("--dut=pair-a", SPEED, "--junitxml=junit.xml", "-rA", "test_in.py")

    outcomes = result.parseoutcomes()
    assert outcomes.get("errors", outcomes.get("error")) == 1, outcomes
    assert outcomes.get("failed") == 2, outcomes
    result.stdout.fnmatch_lines(
        [
            "*ERROR at call of test_bench_breaks_under_the_test[[]pair-a[]]*",
            "*BenchError: the console of the bench went away",
            "*short test summary info*",
            "ERROR test_in.py::test_bench_breaks_under_the_test[[]pair-a[]] - *",
            "FAILED test_in.py::test_product_assertion[[]pair-a[]] - *",
            "FAILED test_in.py::test_plain_assertion - assert (1 + 1) == 3",
        ]
    )
    cases = by_name(pytester.path / "junit.xml")
    infra = cases["test_in::test_bench_breaks_under_the_test[pair-a]"]
    product = cases["test_in::test_product_assertion[pair-a]"]
    assert properties(infra) == {"dut": "pair-a", "failure_class": "infra"}
    assert properties(product) == {"dut": "pair-a", "failure_class": "product"}
    assert (outcome(infra), outcome(product)) == ("error", "failure")
    plain = cases["test_in::test_plain_assertion"]
    assert properties(plain) == {"failure_class": "product"}
