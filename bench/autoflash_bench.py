"""Benchmark: ``--jetson-flash=auto`` on an already-flashed simulated DUT vs a full flash of it.

One simulated AGX Orin keeps its state across sessions (an inventory ``state:`` folder). A first
``--jetson-flash=auto`` session flashes it and writes the host record; then, for several rounds,
alternating in fresh processes: an ``--jetson-flash=auto`` session (must verify and skip) and a
``--jetson-flash`` session (always flashes; same image, so the record stays valid). Prints the
median wall time of each, their ratio, and what the skip costs: the boots, logins and shell
reads of the verifying session, counted from its summary and console log.

On the simulator a flash is seconds; on real hardware the flash the skip replaces is 10-20
minutes of USB transfer per board, while the skip costs one boot out of recovery, one login and
a few reads (about a minute on an AGX Orin). When the skip finds a difference it flashes anyway,
and then its boot and reads come on top of the flash.

    python bench/autoflash_bench.py [--rounds 3] [--speed 4]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchlib import run_session, summary, write_sim_bench


def make_bench(folder: Path) -> None:
    """The inventory of one kept simulated DUT and the HIL test."""
    write_sim_bench(folder, {"kept": "{board: orin-agx, state: kept-state}"})


def run(folder: Path, flash: str, speed: float, tag: str) -> tuple[float, dict[str, Any], str]:
    """Wall seconds of one session with ``flash`` (``--jetson-flash`` or ``=auto``), its
    summary and its console log."""
    artifacts = folder / f"art-{tag}"
    options = [
        "--dut=kept",
        flash,
        f"--jetson-sim-speed={speed:g}",
        f"--jetson-artifacts={artifacts}",
        "--jetson-accept-plan",
    ]
    wall = run_session(folder, options)
    console = (artifacts / "kept" / "console.log").read_text(errors="replace")
    return wall, summary(artifacts, "kept"), console


def commands(console: str) -> list[str]:
    """The shell commands the console log shows, each echoed once between its begin and end
    markers (``echo PJB..; <command>; echo PJE.. $?``)."""
    found = []
    for line in console.splitlines():
        if "$ echo PJB" in line and "; echo PJE" in line:
            found.append(line.split("; ", 1)[1].rsplit("; echo PJE", 1)[0])
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--speed", type=float, default=4.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="autoflash-bench-") as tmp:
        folder = Path(tmp)
        make_bench(folder)
        _, first, _ = run(folder, "--jetson-flash=auto", args.speed, "first")
        if first["reflash"]["skip"]:
            sys.exit("the first session skipped the flash: there was no record yet")
        autos: list[float] = []
        fulls: list[float] = []
        skipped: dict[str, Any] = {}
        console = ""
        for n in range(args.rounds):
            wall, skipped, console = run(folder, "--jetson-flash=auto", args.speed, f"auto-{n}")
            if not skipped["reflash"]["skip"]:
                sys.exit(f"--jetson-flash=auto flashed: {skipped['reflash']['message']}")
            autos.append(wall)
            wall, full, _ = run(folder, "--jetson-flash", args.speed, f"full-{n}")
            if not any(s.get("outcome") == "flashed" for s in full["steps"]):
                sys.exit("--jetson-flash did not flash")
            fulls.append(wall)
    auto, full_median = statistics.median(autos), statistics.median(fulls)
    print(f"simulated clock x{args.speed:g}, {args.rounds} rounds, fresh process each session")
    print(f"--jetson-flash=auto (verified, skipped): median {auto:.2f} s  {_list(autos)}")
    print(f"--jetson-flash      (full flash):        median {full_median:.2f} s  {_list(fulls)}")
    print(f"ratio auto / full: {auto / full_median:.2f}")
    timeline = skipped["boot_timeline"]
    stages = " > ".join(sorted(timeline, key=timeline.get))
    ran = commands(console)
    print(f"the skip cost: 1 boot out of recovery ({stages}), 1 login, {len(ran)} commands:")
    for command in ran:
        print(f"  {command}")
    print(skipped["reflash"]["message"])
    print("on real hardware the flash it replaces is 10-20 minutes of USB transfer per board")
    return 0


def _list(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.2f}" for v in values) + "]"


if __name__ == "__main__":
    raise SystemExit(main())
