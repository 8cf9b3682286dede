"""The simulated NVIDIA tools, written into a tree as real executables.

:func:`install_tools` puts a small Python launcher at each tool's real path in the LFT
(``tools/board_automation/boardctl``, ``nvautoflash.sh``, ``flash.sh``, ...) and a marker file
naming the DUT's state dir, so the product runs them with plain argv, exactly as on a bench.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path

import pytest_jetson
from pytest_jetson.sim.boards import RELEASES
from pytest_jetson.sim.state import log_call
from pytest_jetson.sim.tools._env import MARKER, ToolEnv, locate

TOOLS: dict[str, str] = {
    "boardctl": "tools/board_automation/boardctl",
    "nvautoflash": "nvautoflash.sh",
    "flash": "flash.sh",
    "initrd_flash": "tools/kernel_flash/l4t_initrd_flash.sh",
    "default_user": "tools/l4t_create_default_user.sh",
    "apply_binaries": "apply_binaries.sh",
}
"""Tool key → path inside the LFT."""

_LAUNCHER = """\
#!{python}
# pytest-jetson simulated bench: stands in for NVIDIA's {path} (not NVIDIA code).
import sys
sys.path.insert(0, {pkg_root!r})
from pytest_jetson.sim.tools import run
sys.exit(run({tool!r}, __file__, sys.argv[1:]))
"""


def install_tools(lft: Path, state_dir: Path, *, release: str) -> None:
    """Write the simulated tools into ``lft`` and point them at the DUT state in ``state_dir``."""
    if release not in RELEASES:
        raise ValueError(f"unknown release {release!r} (known: {', '.join(RELEASES)})")
    (lft / MARKER).write_text(
        json.dumps({"state_dir": str(state_dir.absolute()), "release": release}) + "\n"
    )
    pkg_root = str(Path(pytest_jetson.__file__).resolve().parent.parent)
    for tool, rel in TOOLS.items():
        path = lft / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink():
            path.unlink()
        path.write_text(
            _LAUNCHER.format(python=sys.executable, path=rel, pkg_root=pkg_root, tool=tool)
        )
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    _release_extras(lft, RELEASES[release].major)


def _release_extras(lft: Path, major: int) -> None:
    automation = lft / "tools" / "board_automation"
    if major >= 38:
        targets = automation / "_targets"
        targets.mkdir(exist_ok=True)
        for name in ("__init__.py", "_common.py", "topo.py", "thor-jetson-module.py"):
            if not (targets / name).exists():
                (targets / name).write_text("# simulated boardctl target\n")
        if not (targets / "orin-jetson.py").exists():
            os.symlink("topo.py", targets / "orin-jetson.py")
    else:
        for name in ("nvtopo.py", "libnvtopo.so"):
            if not (automation / name).exists():
                (automation / name).write_text("# simulated TOPO support file\n")
    top = lft / "l4t_initrd_flash.sh"
    if major >= 39 and not top.exists() and not top.is_symlink():
        os.symlink("tools/kernel_flash/l4t_initrd_flash.sh", top)


def _mains() -> dict[str, Callable[[ToolEnv, list[str]], int]]:
    from pytest_jetson.sim.tools import (
        apply_binaries,
        boardctl,
        default_user,
        flash,
        nvautoflash,
    )

    return {
        "boardctl": boardctl.main,
        "nvautoflash": nvautoflash.main,
        "flash": flash.flash_main,
        "initrd_flash": flash.initrd_main,
        "default_user": default_user.main,
        "apply_binaries": apply_binaries.main,
    }


def _masked(argv: list[str]) -> list[str]:
    """``argv`` with the value of a password option (``-p``/``--password``) masked: the call
    log is read by people and tests, a password never lands in a file."""
    out = list(argv)
    for i, arg in enumerate(out[:-1]):
        if arg in ("-p", "--password"):
            out[i + 1] = "***"
    return out


def run(tool: str, script: str, argv: list[str]) -> int:
    """Entry point of an installed tool launcher: run ``tool`` for the tree holding ``script``."""
    env = locate(script)
    if tool != "boardctl":  # boardctl logs on the board it drives (its -s/-i pick)
        log_call(env.store.state_dir, tool, _masked(argv))
    try:
        return _mains()[tool](env, argv)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 141
