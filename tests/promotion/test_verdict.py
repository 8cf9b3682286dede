"""The gate's rules on small hand-made runs (no bench needed)."""

from __future__ import annotations

import pytest

from pytest_jetson.cycles.record import CycleRecord, StageTime
from pytest_jetson.promotion.results import Image, RunResults
from pytest_jetson.promotion.results import TestResult as Result
from pytest_jetson.promotion.verdict import Thresholds, judge


def run(
    dut: str, *results: tuple[str, str, str], cycles: tuple[CycleRecord, ...] = ()
) -> RunResults:
    return RunResults(
        dut=dut,
        profile="orin",
        image=Image(release="R36.4.3", plan_digest=dut * 2),
        results=tuple(Result(f"test_x.py::{i}[{dut}]", o, c) for i, o, c in results),
        cycles=cycles,
    )


def cycles(
    kernel: list[float], failed: tuple[int, ...] = (), infra: bool = False
) -> tuple[CycleRecord, ...]:
    made = []
    for n, seconds in enumerate(kernel, 1):
        if n in failed:
            cls = "infra" if infra else "product"
            made.append(CycleRecord(n, "failed", cls, "kernel", "panic"))  # type: ignore[arg-type]
        else:
            made.append(CycleRecord(n, "passed", stages=(StageTime("kernel", 1.0, 9.9, seconds),)))
    return tuple(made)


def verdict(base: RunResults, cand: RunResults, **limits: float) -> tuple[str, list[str]]:
    gate = judge([(base, cand)], thresholds=Thresholds(**limits))  # type: ignore[arg-type]
    return gate.verdict, list(gate.reasons)


def test_a_test_that_passed_and_now_fails_as_product_rejects() -> None:
    got = verdict(run("a", ("t", "passed", "")), run("b", ("t", "failed", "product")))
    assert got[0] == "REJECT" and "test_x.py::t[<dut>] passed on the baseline" in got[1][0]


def test_an_infra_failure_hides_a_result_and_is_inconclusive() -> None:
    got = verdict(run("a", ("t", "passed", "")), run("b", ("t", "failed", "infra")))
    assert got[0] == "INCONCLUSIVE" and "hidden by an infra failure" in got[1][0]


@pytest.mark.parametrize(
    ("base", "cand", "kind"),
    [
        pytest.param(("failed", "product"), ("failed", "product"), "flaky", id="both-fail"),
        pytest.param(("failed", "product"), ("passed", ""), "fixed", id="fixed"),
    ],
)
def test_flaky_and_fixed_tests_are_listed_and_promote(
    base: tuple[str, str], cand: tuple[str, str], kind: str
) -> None:
    gate = judge([(run("a", ("t", *base)), run("b", ("t", *cand)))])
    assert gate.verdict == "PROMOTE"
    assert [t.kind for t in gate.pairs[0].transitions] == [kind]


def test_mixed_outcomes_within_a_side_are_flaky_never_a_pass() -> None:
    mixed = RunResults("b", results=(Result("t", "passed", attempts=("failed", "passed")),))
    gate = judge([(RunResults("a", results=(Result("t", "passed"),)), mixed)])
    assert [(t.kind, t.candidate) for t in gate.pairs[0].transitions] == [
        ("flaky", "failed/passed")
    ]


def test_new_and_removed_tests_are_listed() -> None:
    gate = judge([(run("a", ("old", "passed", "")), run("b", ("new", "passed", "")))])
    assert sorted(t.kind for t in gate.pairs[0].transitions) == ["new", "removed"]
    assert gate.verdict == "PROMOTE"


def test_a_slower_stage_rejects_only_past_the_threshold_with_enough_cycles() -> None:
    base = run("a", cycles=cycles([1.00, 1.01, 0.99, 1.00, 1.02]))
    slower = run("b", cycles=cycles([1.20, 1.21, 1.19, 1.20, 1.22]))
    within = run("b", cycles=cycles([1.04, 1.05, 1.03, 1.04, 1.06]))
    assert verdict(base, slower)[0] == "REJECT"
    assert "stage kernel +0.200 s (+20%, firmware clock" in verdict(base, slower)[1][0]
    assert verdict(base, within)[0] == "PROMOTE"
    assert verdict(base, slower, relative=0.25)[0] == "PROMOTE"
    assert verdict(base, slower, min_cycles=6)[0] == "PROMOTE"


def test_the_spread_widens_the_threshold() -> None:
    noisy = run("a", cycles=cycles([1.0, 1.3, 0.7, 1.0, 1.2]))
    assert verdict(noisy, run("b", cycles=cycles([1.2] * 5)))[0] == "PROMOTE"


def test_boot_cycles_are_judged_as_a_group() -> None:
    clean = run("a", cycles=cycles([1.0] * 5))
    one = run("b", cycles=cycles([1.0] * 5, failed=(2,)))
    two = run("b", cycles=cycles([1.0] * 5, failed=(2, 4)))
    assert verdict(clean, one)[0] == "REJECT"
    gate = judge([(two, one)])
    assert (gate.verdict, gate.pairs[0].cycles.kind) == ("PROMOTE", "flaky")
    hidden = run("b", cycles=cycles([1.0] * 5, failed=(3,), infra=True))
    assert verdict(clean, hidden)[0] == "INCONCLUSIVE"


def test_an_unpaired_dut_is_inconclusive() -> None:
    gate = judge([], unpaired=["baseline:orin-1"])
    assert gate.verdict == "INCONCLUSIVE" and gate.exit_code == 3
