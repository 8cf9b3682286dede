"""Host preflight (5.1) speed vs ``cmp -s kernel/Image rootfs/boot/Image`` on a full-size tree.

The host-side check must not walk ``rootfs/``: on a ``full_size=True`` simulated tree (tens of
thousands of rootfs files, a ~60 MB kernel Image) it may take at most 1.2x the time of the
byte comparison of the two Images alone. Both are timed in this process, best of N runs, so
the page cache is warm for both.

    python bench/preflight_bench.py [--board orin-agx] [--runs 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import best_of

from pytest_jetson.preflight.checks import check_bsp_image
from pytest_jetson.profile import load_profile
from pytest_jetson.sim.tree import make_tree

LIMIT = 1.2


def write_profile(dest: Path, board: str, lft: Path, flash_config: str) -> Path:
    """A profile for the simulated tree (only what 5.1 reads matters)."""
    path = dest / f"{board}.yaml"
    path.write_text(
        "reference_devkit:\n"
        "  name: simulated devkit\n"
        "  module: {id: p3701}\n"
        "  carrier: {id: p3737}\n"
        f"  flash_config: {flash_config}\n"
        f"bsp_image: {{root_path: {lft.parent}}}\n"
    )
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board", default="orin-agx")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="build the tree here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="preflight-bench-") as tmp:
        dest = args.keep or Path(tmp)
        dest.mkdir(parents=True, exist_ok=True)
        print(f"building a full-size {args.board} tree in {dest} ...", flush=True)
        tree = make_tree(dest / "image", args.board, full_size=True)
        lft = Path(tree.lft)
        conf = tree.devkit_conf.name
        profile = load_profile(write_profile(dest, args.board, lft, conf))
        outcome = check_bsp_image(profile, flow_tool="l4t_initrd_flash.sh")
        if not outcome.passed:
            print(f"the full-size tree does not pass 5.1: {outcome}", file=sys.stderr)
            return 2
        argv = ["cmp", "-s", str(lft / "kernel" / "Image"), str(lft / "rootfs" / "boot" / "Image")]
        baseline = best_of(args.runs, lambda: subprocess.run(argv, check=True))
        preflight = best_of(
            args.runs, lambda: check_bsp_image(profile, flow_tool="l4t_initrd_flash.sh")
        )
    ratio = preflight / baseline
    print(f"cmp -s of the two Images: {baseline * 1000:.1f} ms (best of {args.runs})")
    print(f"host preflight (5.1):     {preflight * 1000:.1f} ms (best of {args.runs})")
    print(f"ratio: {ratio:.2f} (limit {LIMIT})")
    return 0 if ratio <= LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
