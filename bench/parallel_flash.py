"""Benchmark: N simulated DUTs flashed in parallel under ``-n N`` vs one DUT alone.

Runs ``pytest --jetson-flash`` on the simulated bench (same test file, same speed), once with
one DUT and ``-n 1``, once with N DUTs and ``-n N``, alternating the two in fresh processes for
several rounds, and prints the ratio of the median wall times for each N from 2 up to the
worker count. Also prints the flash-flow span taken from the summaries (first flow start to
last flow end). Target: N DUTs take <= 1.2x one DUT's wall time.

    python bench/parallel_flash.py [--max-duts 2] [--rounds 3] [--speed 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from benchlib import parallel_flash, span, write_sim_bench

TARGET = 1.2


def make_bench(folder: Path, count: int) -> list[str]:
    """An inventory of ``count`` identical simulated AGX Orins and the HIL test."""
    return write_sim_bench(folder, {f"bench-{n}": "{board: orin-agx}" for n in range(count)})


def run(folder: Path, duts: list[str], speed: float, tag: str) -> tuple[float, float]:
    """Wall seconds of one session flashing ``duts`` with one worker each, and the span of
    the flash flows from their summaries."""
    wall, summaries = parallel_flash(folder, duts, speed, tag, timeout=600)
    return wall, span(summaries)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-duts", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--speed", type=float, default=2.0)
    args = parser.parse_args()
    if args.max_duts < 2:
        sys.exit("need at least 2 workers to flash in parallel")
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        names = make_bench(folder, args.max_duts)
        run(folder, names[:1], args.speed, "warm")  # bytecode, file cache
        for count in range(2, args.max_duts + 1):
            single: list[tuple[float, float]] = []
            many: list[tuple[float, float]] = []
            for index in range(args.rounds):
                single.append(run(folder, names[:1], args.speed, f"1-{count}-{index}"))
                many.append(run(folder, names[:count], args.speed, f"{count}-{index}"))
            wall_1 = statistics.median(w for w, _ in single)
            wall_n = statistics.median(w for w, _ in many)
            span_1 = statistics.median(s for _, s in single)
            span_n = statistics.median(s for _, s in many)
            ratio = wall_n / wall_1
            verdict = "PASS" if ratio <= TARGET else "FAIL"
            failed |= ratio > TARGET
            print(
                f"N={count} speed={args.speed:g} rounds={args.rounds}: "
                f"1 DUT -n 1 {wall_1:.2f} s, {count} DUTs -n {count} {wall_n:.2f} s, "
                f"ratio {ratio:.3f} (target <= {TARGET}) {verdict}; "
                f"flash-flow span {span_1:.2f} s vs {span_n:.2f} s "
                f"(ratio {span_n / span_1:.3f})"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
