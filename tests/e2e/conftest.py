"""End-to-end stories run the way a user types them: a subprocess in a fresh working folder
that holds what a clone of the project holds for a user (``hil/``, ``profiles/`` and
``pyproject.toml``), with the installed package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
COMMAND_TIMEOUT = 300
"""A bound on each command, so a story that hangs fails instead of blocking the suite."""

Typed = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A fresh working folder laid out like a clone of the project."""
    shutil.copytree(PROJECT / "hil", tmp_path / "hil", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(PROJECT / "profiles", tmp_path / "profiles")
    shutil.copy2(PROJECT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.fixture
def typed(workdir: Path) -> Typed:
    """``typed("pytest", "--dut=sim-orin", "hil/")``: run a command as a user types it in
    the working folder (``pytest`` and ``python`` are this environment's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "JETSON_"))}

    def run(program: str, *args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "pytest"] if program == "pytest" else [sys.executable]
        return subprocess.run(
            [*argv, *args],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )

    return run
