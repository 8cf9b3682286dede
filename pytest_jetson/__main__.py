"""The pytest-jetson command line: ``python -m pytest_jetson <command> ...``.

Commands are subparsers registered in :data:`COMMANDS`; each has an ``add`` function that
declares its arguments and a ``run`` function returning the exit status.

Exit status: 0 done, 1 failed or cancelled, 2 refused (bad profile, missing workspace, usage).
``gate``: 0 PROMOTE, 1 REJECT, 3 INCONCLUSIVE, 2 usage error (a folder without results, a
malformed ``results.json``, a bad ``--pair``).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from pytest_jetson.errors import EXCERPT, ConfigError, JetsonError, excerpt


@dataclass(frozen=True)
class Command:
    """One subcommand: its name, help line, argument declaration and runner."""

    name: str
    help: str
    add: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _add_derive_carrier(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile",
        required=True,
        metavar="PATH|NAME",
        help="target-platform profile with a custom_carrier block: a file, a name in "
        "./profiles/, or a provided one (sim-orin-carrier: the simulated custom carrier)",
    )
    parser.add_argument(
        "--accept-commits",
        action="store_true",
        help="accept every commit preview (default: ask on a terminal, "
        "otherwise cancel and leave the index staged)",
    )
    parser.add_argument(
        "--bpmp",
        action="store_true",
        help="opt in to the BPMP DTB fork (default: keep the reference DTB)",
    )


def _run_derive_carrier(args: argparse.Namespace) -> int:
    from pytest_jetson.carrier import CommitDecision, accept_all, cancel_all, derive_carrier
    from pytest_jetson.carrier.decision import CommitGate, ask_on_terminal, format_preview
    from pytest_jetson.profile import find_profile, load_profile

    gate: CommitGate
    if args.accept_commits:
        gate = accept_all
    elif sys.stdin.isatty():
        gate = ask_on_terminal
    else:

        def gate(repo: Path, staged: Sequence[str], message: str) -> CommitDecision:
            print(format_preview(repo, staged, message), file=sys.stderr)
            print("not a terminal and no --accept-commits: cancelled", file=sys.stderr)
            return cancel_all(repo, staged, message)

    cwd = Path.cwd()
    profile = load_profile(find_profile(args.profile, folders=[cwd / "profiles"], base=cwd))
    derive_carrier(profile, gate, bpmp=args.bpmp, echo=print)
    return 0


def _add_plan(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--dut", metavar="NAME", help="a DUT of the bench (plan digest too)")
    which.add_argument("--profile", type=Path, metavar="PATH", help="a profile (image only)")
    parser.add_argument(
        "--eeprom",
        metavar="KEY=VALUE,...",
        help="the EEPROM as the flow would read it: board_id=3701,board_sku=0000,"
        "board_FAB=500,board_REV=J.0[,chip_SKU=00:00:00:D0] (default: the profile's values)",
    )
    parser.add_argument(
        "--boot-device", metavar="DEV", help="boot device when the profile has none"
    )
    parser.add_argument(
        "--lft",
        type=Path,
        metavar="PATH",
        help="with --profile: plan this Linux_for_Tegra instead of the profile's bsp_image",
    )
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")


def _run_plan(args: argparse.Namespace) -> int:
    from pytest_jetson.flash.offline import OfflinePlan, profile_plan

    def emit(offline: OfflinePlan) -> None:
        print(offline.as_json() if args.json else offline.render())

    if args.dut is not None:
        from pytest_jetson.plugin.offline import plan_dut

        if args.lft is not None or args.boot_device is not None:
            print("error: --lft and --boot-device go with --profile", file=sys.stderr)
            return 2
        return plan_dut(args.dut, eeprom=args.eeprom, options=[], emit=emit)
    from pytest_jetson.errors import UsageError
    from pytest_jetson.profile import load_profile

    profile = load_profile(args.profile)  # a broken profile is a usage error (2)
    try:
        offline = profile_plan(
            profile,
            lft=args.lft,
            eeprom=args.eeprom,
            boot_device=args.boot_device,
        )
    except UsageError:
        raise
    except JetsonError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1
    emit(offline)
    return 1 if offline.refused else 0


def _add_bootlog(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "capture",
        type=Path,
        metavar="FILE",
        help="a recorded console capture: raw bytes saved from a port, a pasted log, or a "
        "console log of --jetson-artifacts",
    )
    parser.add_argument(
        "--chip", required=True, choices=("t234", "t264"), help="t234 (Orin) or t264 (Thor)"
    )
    parser.add_argument(
        "--user-staged",
        action="store_true",
        help="a default user was staged: the first-boot wizard is a failure (default: it "
        "counts as reaching the login stage)",
    )


def _run_bootlog(args: argparse.Namespace) -> int:
    from pytest_jetson.catalogue import chip_by_id
    from pytest_jetson.console.replay import render, replay_capture

    verdict = replay_capture(args.capture, chip_by_id(args.chip), user_staged=args.user_staged)
    print(render(verdict))
    return 0 if verdict.booted else 1


def _add_requalify(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="the quarantined DUT (inventory name)")
    parser.add_argument(
        "--jetson-bench",
        metavar="PATH",
        default=None,
        help="bench inventory file (default: ini jetson_bench, else hil/bench.yaml here)",
    )


def _run_requalify(args: argparse.Namespace) -> int:
    from pytest_jetson.plugin.requalify import requalify

    return requalify(args.name, bench=args.jetson_bench, cwd=Path.cwd())


def _percent(value: str) -> float:
    """``5%`` or ``0.05`` → 0.05 (argparse: "invalid _percent value" otherwise)."""
    number = float(value.removesuffix("%")) / (100 if value.endswith("%") else 1)
    if not 0 <= number < 100:
        raise ValueError(value)
    return number


def _add_gate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("baseline", type=Path, metavar="BASELINE_DIR")
    parser.add_argument("candidate", type=Path, metavar="CANDIDATE_DIR")
    parser.add_argument("--html", type=Path, metavar="FILE", help="write the HTML report")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the verdict as JSON")
    parser.add_argument(
        "--pair",
        action="append",
        default=[],
        metavar="BASE_DUT=CAND_DUT",
        help="pair these DUTs (default: by profile, then by name); repeatable",
    )
    parser.add_argument(
        "--max-slowdown",
        type=_percent,
        default=0.05,
        metavar="PERCENT",
        help="a stage's median may rise by this much (default 5%%)",
    )
    parser.add_argument(
        "--spread-factor",
        type=float,
        default=2.0,
        metavar="K",
        help="...and by K times the baseline's spread (median absolute deviation; default 2)",
    )
    parser.add_argument(
        "--min-cycles",
        type=int,
        default=5,
        metavar="N",
        help="judge stage timings only with N cycles on each side (default 5)",
    )
    parser.add_argument(
        "--min-host-delta",
        type=float,
        default=0.25,
        metavar="SECONDS",
        help="on the host clock a rise must also exceed this (default 0.25)",
    )


def _run_gate(args: argparse.Namespace) -> int:
    from pytest_jetson.promotion.gate import run_gate
    from pytest_jetson.promotion.verdict import Thresholds

    limits = Thresholds(args.max_slowdown, args.spread_factor, args.min_cycles, args.min_host_delta)
    gate = run_gate(
        args.baseline,
        args.candidate,
        pairs=args.pair,
        thresholds=limits,
        html=args.html,
        json_path=args.json,
    )
    return gate.exit_code


COMMANDS: list[Command] = [
    Command(
        "derive-carrier",
        "fork a custom carrier from the reference devkit (overlay tracker + hardware repo)",
        _add_derive_carrier,
        _run_derive_carrier,
    ),
    Command(
        "plan",
        "print the flash plan without a board: exit 0 resolved, 1 refused, 2 usage error",
        _add_plan,
        _run_plan,
    ),
    Command(
        "bootlog",
        "run a recorded console capture through the boot validation (stages, bad patterns, "
        "not observed) and print the timeline and the verdict",
        _add_bootlog,
        _run_bootlog,
    ),
    Command(
        "requalify",
        "health-check a quarantined DUT (reset, boot, login) and lift its quarantine if it passes",
        _add_requalify,
        _run_requalify,
    ),
    Command(
        "gate",
        "compare a candidate run's artifacts with a baseline's: PROMOTE (0), REJECT (1), "
        "INCONCLUSIVE (3), usage error (2)",
        _add_gate,
        _run_gate,
    ),
]
"""Every subcommand; add one here (e.g. ``plan``) to extend the command line."""


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error that quotes a long value in a short excerpt (argparse
    prints a bad choice or number whole: a 5000-character value made a 5000-character line)."""

    def error(self, message: str) -> NoReturn:
        """Exit 2 with the usage and the shortened message."""
        super().error(_LONG_QUOTED.sub(lambda m: excerpt(m.group(1)), message))


_LONG_QUOTED = re.compile(f"'([^']{{{EXCERPT + 1},}})'")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand (subparsers are of the same class)."""
    parser = _Parser(prog="python -m pytest_jetson", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        child = sub.add_parser(command.name, help=command.help, description=command.help)
        command.add(child)
        child.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; errors print as one message, no traceback."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except JetsonError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a path given on the command line the system refuses to use
        print(f"error: {_os_error(exc)}", file=sys.stderr)
        return 2
    return status


def _os_error(exc: OSError) -> str:
    """One line naming the path (in an excerpt), what the system said, and the fix."""
    where = excerpt(os.fsdecode(exc.filename)) if exc.filename is not None else "a path given"
    what = exc.strerror or str(exc)
    return f"cannot use {where}: {what}; give an existing path this user can read"


if __name__ == "__main__":
    sys.exit(main())
