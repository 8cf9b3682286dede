"""Benchmark: 3 simulated DUTs of one image on one simulated host under ``-n 3`` vs one DUT.

The DUTs share one Linux_for_Tegra tree (``sim: {board: thor-agx, tree: shared}``) on the one
simulated host every xdist worker opens, as three Jetsons of one image on a bench host do. The
first DUT builds the images (``l4t_initrd_flash.sh --no-flash``), the others reuse them, and each
is flashed with ``--flash-only --usb-instance <its port>`` holding the tree alone (every separate
run of NVIDIA's tool is device instance 0). Runs ``pytest --jetson-flash`` once with one DUT
(``-n 1``) and once with N DUTs (``-n N``), alternating in fresh processes for several rounds,
and prints the ratio of the median wall times, the flash-flow span from the summaries, and
where the extra time went (the build once, the seconds each DUT waited for the tree). A third
run per round flashes N DUTs with a tree each (N builds, nothing shared, no waiting): its ratio
is what N workers cost on this machine without the tree lock, so the difference is the tree's.
Issue 13's goal: <= 1.3x (building three times would be ~3x).

    python bench/shared_host_flash.py [--duts 3] [--rounds 3] [--speed 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchlib import parallel_flash, span, write_sim_bench

TARGET = 1.3


def make_bench(folder: Path, count: int) -> tuple[list[str], list[str]]:
    """An inventory of ``count`` simulated AGX Thors that share one tree, ``count`` with a
    tree each, and the HIL test."""
    shared = {f"thor-{n}": "{board: thor-agx, tree: shared}" for n in range(count)}
    own = {f"own-{n}": "{board: thor-agx}" for n in range(count)}
    write_sim_bench(folder, {**shared, **own})
    return list(shared), list(own)


def step_seconds(summary: Any, step: str) -> float:
    """Seconds the DUT spent in ``step`` (0 when it had none)."""
    return float(sum(s.get("duration_s") or 0.0 for s in summary["steps"] if s["step"] == step))


def describe(summaries: list[Any]) -> str:
    """Per DUT: built or reused, seconds waited for the tree, build and flash seconds."""
    parts = []
    for data in sorted(summaries, key=lambda s: s["dut"]):
        role = (data.get("image_build") or {}).get("role", "-")
        waited = (data.get("tree_lock") or {}).get("waited_s", 0.0)
        build, flash = step_seconds(data, "build"), step_seconds(data, "flash")
        parts.append(
            f"{data['dut']}: {role}, build {build:.1f} s, flash {flash:.1f} s, "
            f"waited {waited:.1f} s for the tree"
        )
    return "; ".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duts", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--speed", type=float, default=2.0)
    args = parser.parse_args()
    if args.duts < 2:
        sys.exit("need at least 2 DUTs to share a host")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        names, own = make_bench(folder, args.duts)
        parallel_flash(folder, names[:1], args.speed, "warm")  # bytecode, file cache
        single: list[tuple[float, list[Any]]] = []
        many: list[tuple[float, list[Any]]] = []
        apart: list[tuple[float, list[Any]]] = []
        for index in range(args.rounds):
            single.append(parallel_flash(folder, names[:1], args.speed, f"1-{index}"))
            many.append(parallel_flash(folder, names, args.speed, f"n-{index}"))
            apart.append(parallel_flash(folder, own, args.speed, f"own-{index}"))
        wall_1 = statistics.median(w for w, _ in single)
        wall_n = statistics.median(w for w, _ in many)
        wall_own = statistics.median(w for w, _ in apart)
        span_1 = statistics.median(span(s) for _, s in single)
        span_n = statistics.median(span(s) for _, s in many)
        span_own = statistics.median(span(s) for _, s in apart)
    ratio = wall_n / wall_1
    verdict = "PASS" if ratio <= TARGET else "ABOVE TARGET"
    print(
        f"{args.duts} DUTs of one image on one host, speed={args.speed:g}, "
        f"rounds={args.rounds}: 1 DUT -n 1 {wall_1:.2f} s, {args.duts} DUTs -n {args.duts} "
        f"{wall_n:.2f} s, ratio {ratio:.3f} (target <= {TARGET}) {verdict}; flash-flow span "
        f"{span_1:.2f} s vs {span_n:.2f} s (ratio {span_n / span_1:.3f})"
    )
    print(
        f"  {args.duts} DUTs with a tree each (N builds, no tree shared): {wall_own:.2f} s, "
        f"ratio {wall_own / wall_1:.3f}; flash-flow span {span_own:.2f} s "
        f"(ratio {span_own / span_1:.3f})"
    )
    print(f"  1 DUT (last round): {describe(single[-1][1])}")
    print(f"  {args.duts} DUTs (last round): {describe(many[-1][1])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
