"""Benchmark: derive-carrier on a full-size simulated tree (target: the whole derivation < 2 s).

Builds a ``--full-size`` tree (tens of thousands of rootfs files, a ~60 MB kernel) and its source
workspace, then times one derivation (all rows, every commit, the push) against a baseline run
in the same process: a plain ``git status`` of the overlay tracker. Prints both times and the
ratio. Run: ``python bench/derive_bench.py [--board orin-agx|orin-nano|thor-agx] [--keep]``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytest_jetson.carrier import accept_all, derive_carrier
from pytest_jetson.profile import load_profile
from pytest_jetson.sim.tree import make_tree
from pytest_jetson.sim.workspace import make_source_workspace

TARGET_SECONDS = 2.0


def _profile(root: Path, board_key: str, release: str) -> Path:
    from pytest_jetson.sim.boards import BOARDS

    b = BOARDS[board_key]
    path = root / "profile.yaml"
    path.write_text(
        "reference_devkit:\n"
        f"  name: {b.devkit_name}\n"
        f'  module: {{id: {b.module_id}, sku: "{b.module_sku}", revision: "{b.eeprom.fab}"}}\n'
        f'  carrier: {{id: {b.carrier_id}, sku: "{b.carrier_sku}"}}\n'
        f"  flash_config: {b.devkit_conf}\n"
        f'custom_carrier: {{id: acme1, sku: "0000", flash_config: acme1-{b.module_id}.conf, '
        "name: ACME}\n"
        f"bsp_image: {{root_path: img, version: {release}}}\n"
        "source: {root_path: src}\n"
    )
    return path


def main() -> int:
    """Build the tree, time the baseline and the derivation, print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board", default="orin-agx")
    parser.add_argument("--keep", action="store_true", help="keep the temporary tree")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="derive-bench-"))
    try:
        started = time.perf_counter()
        tree = make_tree(root / "img", args.board, full_size=True)
        ws = make_source_workspace(root / "src", tree)
        files = sum(1 for _ in tree.lft.rglob("*"))
        print(
            f"setup: {args.board} full-size tree ({files} entries) in "
            f"{time.perf_counter() - started:.1f} s"
        )
        profile = load_profile(_profile(root, args.board, tree.release))

        started = time.perf_counter()
        subprocess.run(
            ["git", "status", "--porcelain"],
            cwd=ws.overlay_tracker,
            check=True,
            capture_output=True,
        )
        baseline = time.perf_counter() - started

        started = time.perf_counter()
        result = derive_carrier(profile, accept_all, bpmp=True)
        derive = time.perf_counter() - started

        print(f"baseline (git status of the overlay tracker): {baseline * 1000:.1f} ms")
        print(
            f"derive-carrier ({len(result.commits)} commits, pushed {result.pushed}): "
            f"{derive * 1000:.1f} ms"
        )
        print(f"ratio derive / baseline: {derive / baseline:.1f}x")
        verdict = "within" if derive < TARGET_SECONDS else "OVER"
        print(f"target < {TARGET_SECONDS:.0f} s: {verdict}")
        return 0 if derive < TARGET_SECONDS else 1
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
