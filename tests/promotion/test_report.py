"""The HTML report as a file: self-contained, the verdict first, the console log of a failed
cycle escaped. (What a person sees in a browser is checked in ``tests/e2e/test_gate.py``.)"""

from __future__ import annotations

import re

from pytest_jetson.cycles.record import CycleRecord, StageTime
from pytest_jetson.promotion.report import render_gate, render_run
from pytest_jetson.promotion.results import RunResults
from pytest_jetson.promotion.verdict import judge

STAGES = tuple(StageTime(s, n * 0.5, 0.5, None) for n, s in enumerate(("mb1", "mb2", "uefi")))


def _run(dut: str, *, failed: bool = False) -> RunResults:
    cycles = [CycleRecord(n, "passed", stages=STAGES) for n in range(1, 3)]
    if failed:
        log = "==== kernel reached at 1.500s ====\n<b>Kernel panic</b>"
        cycles.append(CycleRecord(3, "failed", "product", "kernel", "panic", log=log))
    return RunResults(dut, profile="orin", cycles=tuple(cycles))


def test_the_gate_report_needs_nothing_but_the_file() -> None:
    html = render_gate(judge([(_run("a"), _run("b", failed=True))]))
    assert "<script" not in html and not re.search(r"""(src|href)=["']?https?:""", html)
    assert html.index('id="verdict"') < html.index("<svg")
    assert "&lt;b&gt;Kernel panic&lt;/b&gt;" in html and "<b>Kernel panic</b>" not in html
    assert html.count('class="bar') == 2 * 2 * len(STAGES)


def test_a_run_report_has_no_verdict() -> None:
    html = render_run([_run("a")])
    assert 'id="verdict"' not in html and '<section class="run"' in html
