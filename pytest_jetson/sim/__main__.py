"""``python -m pytest_jetson.sim``: build a simulated tree, or serve a simulated DUT.

* ``tree DIR --board B [--release R] [--full-size]`` writes ``DIR/Linux_for_Tegra`` with the
  behaving tools, acting on a DUT state in ``DIR/sim-host`` (no console process).
* ``serve DIR --board B [--release R] [--fault F ...] [--speed S] [--start S] [--seed N]``
  runs one DUT with its console until Ctrl-C, printing where its console, USB port, tree and
  profile are.
  It starts flashed and booted at a login prompt (user ``ubuntu``, password ``ubuntu``)
  unless ``--start`` says ``factory``, ``blank`` or ``off``.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from pathlib import Path
from types import FrameType

from pytest_jetson.errors import JetsonError
from pytest_jetson.sim.boards import BOARDS, board_by_key
from pytest_jetson.sim.console import port_name
from pytest_jetson.sim.faults import check_faults, known_faults
from pytest_jetson.sim.host import FIRST_PORT, STARTS, USB_BUS, SimHost, initial_state
from pytest_jetson.sim.state import DUTS_DIR, StateStore
from pytest_jetson.sim.tools import install_tools
from pytest_jetson.sim.tree import make_tree


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pytest_jetson.sim", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    tree = sub.add_parser("tree", help="write a simulated Linux_for_Tegra tree with its tools")
    serve = sub.add_parser("serve", help="run a simulated DUT (console, USB view) until Ctrl-C")
    for p in (tree, serve):
        p.add_argument("dir", type=Path)
        p.add_argument("--board", required=True, choices=sorted(BOARDS))
        p.add_argument("--release", help="L4T release, e.g. R36.4.3 (default: the newest)")
    tree.add_argument("--full-size", action="store_true", help="a tree of realistic scale")
    serve.add_argument("--name", help="DUT name (default: the board's sim-* name)")
    serve.add_argument("--fault", action="append", default=[], help=f"one of: {known_faults()}")
    serve.add_argument("--speed", type=float, default=1.0, help="speed factor (larger: faster)")
    serve.add_argument(
        "--start",
        choices=list(STARTS),
        default="booted",
        help="how the DUT is found: " + "; ".join(f"{k}: {v}" for k, v in STARTS.items()),
    )
    serve.add_argument(
        "--seed", type=int, default=0, help="seed of the combined-UART interleaving (default 0)"
    )
    return parser


def _tree(args: argparse.Namespace) -> int:
    board = board_by_key(args.board)
    tree = make_tree(args.dir, args.board, release=args.release, full_size=args.full_size)
    state_dir = Path(args.dir).absolute() / "sim-host" / DUTS_DIR / board.dut_name
    state_dir.mkdir(parents=True, exist_ok=True)
    port = f"{USB_BUS}-{FIRST_PORT}"
    link = state_dir / port_name(args.board)
    StateStore(state_dir).write(initial_state(board.dut_name, board, tree.release, port, link))
    install_tools(tree.lft, state_dir, release=tree.release)
    print(f"lft: {tree.lft}")
    print(f"release: {tree.release}")
    print(f"state: {state_dir}")
    return 0


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _serve(args: argparse.Namespace) -> int:
    board = board_by_key(args.board)
    signal.signal(signal.SIGTERM, _stop)
    with SimHost(args.dir) as host:
        dut = host.add_dut(
            args.name or board.dut_name,
            args.board,
            release=args.release,
            faults=check_faults(args.fault),
            speed=args.speed,
            start=args.start,
            user=("ubuntu", "ubuntu"),
            tcu_seed=args.seed,
        )
        print(f"dut: {dut.name} ({board.devkit_name}, {dut.release}, {args.start})")
        print(f"console: {dut.console_port}")
        print(f"usb_port: {dut.usb_port}")
        print(f"lft: {dut.lft}")
        print(f"profile: {dut.profile_path}")
        print(f"host: {host.host_dir}")
        with contextlib.suppress(KeyboardInterrupt):
            print("serving; Ctrl-C to stop", flush=True)
            signal.pause()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the simulator command line; return the exit code."""
    args = _parser().parse_args(argv)
    if args.dir.exists() and not args.dir.is_dir():
        print(
            f"error: {args.dir}: not a folder; give a folder to write the tree into",
            file=sys.stderr,
        )
        return 2
    try:
        return _tree(args) if args.command == "tree" else _serve(args)
    except JetsonError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the folder cannot be written (full disk, read-only, permissions)
        where = f" {exc.filename}" if exc.filename else ""
        print(f"error: cannot write{where}: {exc.strerror or exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
