"""Benchmark: the plugin's cost when installed but inert (no --dut).

Collects 2,000 trivial tests with the plugin loaded and with ``-p no:jetson -p no:jetson_sim`` (the
simulator is a plugin of its own), alternating the two in fresh interpreter processes. Each run is
measured as the CPU time (user + system) of the child process, which is far steadier than wall time
on a shared machine; the verdict is the ratio of the best runs (the least disturbed), and the
medians are printed too. Target: <= 1.05.

    python bench/collect_overhead.py [--tests 2000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

TARGET = 1.05


def make_suite(folder: Path, count: int) -> None:
    per_file = 100
    for index in range(0, count, per_file):
        body = "".join(f"def test_{n}():\n    pass\n\n" for n in range(index, index + per_file))
        (folder / f"test_gen_{index // per_file:03d}.py").write_text(body)
    (folder / "pytest.ini").write_text("[pytest]\n")


def collect_seconds(folder: Path, extra: list[str]) -> float:
    """CPU seconds (user + system) one ``pytest --collect-only`` child process used."""
    argv = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([*argv, *extra], cwd=folder, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_suite(folder, args.tests)
        collect_seconds(folder, [])  # warm the file cache and bytecode
        with_plugin: list[float] = []
        baseline: list[float] = []
        for _ in range(args.rounds):
            baseline.append(collect_seconds(folder, ["-p", "no:jetson", "-p", "no:jetson_sim"]))
            with_plugin.append(collect_seconds(folder, []))
    base, plugin = min(baseline), min(with_plugin)
    ratio = plugin / base
    median_ratio = statistics.median(with_plugin) / statistics.median(baseline)
    print(f"collect {args.tests} tests, CPU time of the pytest process, best of {args.rounds}")
    print(f"  without both : {base * 1000:8.1f} ms")
    print(f"  plugin inert : {plugin * 1000:8.1f} ms")
    print(f"  median ratio : {median_ratio:8.3f}")
    verdict = "PASS" if ratio <= TARGET else "FAIL"
    print(f"  ratio        : {ratio:8.3f}  (target <= {TARGET})  {verdict}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
