"""The gate's speed on 2 x 2,000 results and 2 x 50 boot cycles, as a ratio to reading and
parsing the two folders' JSON alone (goal <= 3x).

Two artifact folders are written with synthetic results (a few product and infra failures,
a kernel stage 10 % slower on the candidate); then, best of N runs in this process:
``json.loads`` of both ``results.json`` files, the gate's verdict (load, pair, judge, the
printed lines), and the verdict plus the HTML report.

    python bench/gate_bench.py [--results 2000] [--cycles 50] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

from benchlib import best_of

from pytest_jetson.cycles.record import STAGE_NAMES, CycleRecord, StageTime
from pytest_jetson.promotion.gate import run_gate
from pytest_jetson.promotion.results import Image, RunResults, TestResult

LIMIT = 3.0
BASE_SECONDS = {"mb1": 0.26, "mb2": 0.2, "uefi": 3.1, "kernel": 4.8, "login": 9.0}


def cycles(count: int, rng: random.Random, kernel_factor: float) -> tuple[CycleRecord, ...]:
    """``count`` passing cycles with jittered stage times."""
    made = []
    for index in range(1, count + 1):
        start, stages = 1.0, []
        for name in STAGE_NAMES:
            seconds = BASE_SECONDS[name] * rng.uniform(0.97, 1.03)
            seconds *= kernel_factor if name == "kernel" else 1.0
            firmware = seconds if name in ("mb1", "kernel") else None
            stages.append(StageTime(name, start, seconds, firmware))
            start += seconds
        made.append(CycleRecord(index, "passed", reboot="boardctl reset", stages=tuple(stages)))
    return tuple(made)


def write_run(folder: Path, n_results: int, n_cycles: int, seed: int, factor: float) -> None:
    """One DUT's ``results.json`` with ``n_results`` tests and ``n_cycles`` cycles."""
    rng = random.Random(seed)
    results = []
    for k in range(n_results):
        draw = rng.random()
        outcome, failure = ("failed", "product") if draw < 0.01 else ("passed", "")
        if 0.01 <= draw < 0.015:
            outcome, failure = "failed", "infra"
        results.append(TestResult(f"hil/test_{k // 50}.py::test_{k}[orin-1]", outcome, failure))
    run = RunResults(
        "orin-1",
        profile="jetson-agx-orin-devkit",
        image=Image("R36.4.3", f"{seed:016x}"),
        results=tuple(results),
        cycles=cycles(n_cycles, rng, factor),
    )
    run.write(folder / "orin-1")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=2000)
    parser.add_argument("--cycles", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gate-bench-") as tmp:
        base, cand = Path(tmp) / "baseline", Path(tmp) / "candidate"
        write_run(base, args.results, args.cycles, 1, 1.0)
        write_run(cand, args.results, args.cycles, 2, 1.1)
        files = [base / "orin-1" / "results.json", cand / "orin-1" / "results.json"]
        parse = best_of(args.runs, lambda: [json.loads(f.read_text()) for f in files])
        gate = best_of(args.runs, lambda: run_gate(base, cand, echo=lambda _: None))
        html = Path(tmp) / "report.html"
        report = best_of(args.runs, lambda: run_gate(base, cand, html=html, echo=lambda _: None))
        verdict = run_gate(base, cand, echo=lambda _: None).verdict
    ratio = gate / parse
    print(f"{args.results} results and {args.cycles} cycles per side; verdict {verdict}")
    print(f"read + parse the two results.json: {parse * 1000:.1f} ms (best of {args.runs})")
    print(f"gate verdict:                      {gate * 1000:.1f} ms  ratio {ratio:.2f}")
    print(f"gate verdict + HTML report:        {report * 1000:.1f} ms  ratio {report / parse:.2f}")
    print(f"ratio: {ratio:.2f} (limit {LIMIT})")
    return 0 if ratio <= LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
