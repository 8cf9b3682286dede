"""What the benchmarks share: timing a call, a simulated bench folder, one pytest session.

The session benchmarks run ``python -m pytest`` in a fresh process per measurement (as a user's
CI job does), in a folder holding an inventory of simulated DUTs (``hil/bench.yaml``, locks in
``hil/locks``), one HIL test that needs a logged-in shell, and an empty ``pytest.ini`` so the
folder is its own rootdir.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

HIL_TEST = """
def test_on_the_board(jetson_shell):
    assert jetson_shell.run("echo on-the-board").strip() == "on-the-board"
"""


def best_of(runs: int, action: Callable[[], object]) -> float:
    """The fastest of ``runs`` timed calls of ``action``."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def write_sim_bench(folder: Path, duts: Mapping[str, str]) -> list[str]:
    """The inventory of simulated DUTs (name → the flow mapping of its ``sim:`` block, e.g.
    ``{board: orin-agx}``), each with the ``ubuntu`` default user, and the HIL test; returns
    the DUT names."""
    lines = ["lock_dir: locks", "duts:"]
    for name, sim in duts.items():
        lines += [f"  {name}:", f"    sim: {sim}", "    default_user: ubuntu"]
    (folder / "hil").mkdir()
    (folder / "hil" / "bench.yaml").write_text("\n".join(lines) + "\n")
    (folder / "test_hil.py").write_text(HIL_TEST)
    (folder / "pytest.ini").write_text("[pytest]\n")
    return list(duts)


def run_session(folder: Path, options: Sequence[str], *, timeout: float = 900) -> float:
    """Wall seconds of ``python -m pytest -q -p no:cacheprovider <options> test_hil.py`` in
    ``folder``; exits the benchmark with pytest's output when the session fails."""
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *options]
    start = time.perf_counter()
    done = subprocess.run(
        [*argv, "test_hil.py"], cwd=folder, capture_output=True, text=True, timeout=timeout
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"pytest failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    return wall


def summary(artifacts: Path, dut: str) -> Any:
    """The DUT's ``summary.json`` under ``artifacts``."""
    return json.loads((artifacts / dut / "summary.json").read_text())


def parallel_flash(
    folder: Path, duts: Sequence[str], speed: float, tag: str, *, timeout: float = 900
) -> tuple[float, list[Any]]:
    """Wall seconds of one ``--jetson-flash`` session over ``duts`` with one xdist worker each
    (artifacts in ``art-<tag>``), and their summaries."""
    artifacts = folder / f"art-{tag}"
    wall = run_session(
        folder,
        [
            f"--dut={','.join(duts)}",
            "--jetson-flash",
            f"--jetson-sim-speed={speed:g}",
            f"--jetson-artifacts={artifacts}",
            "-n",
            str(len(duts)),
            "--jetson-accept-plan",
        ],
        timeout=timeout,
    )
    return wall, [summary(artifacts, d) for d in duts]


def span(summaries: Sequence[Any]) -> float:
    """First flow start to last flow end, from the summaries."""
    return float(max(s["finished"] for s in summaries) - min(s["started"] for s in summaries))
