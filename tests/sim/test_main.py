"""``python -m pytest_jetson.sim``: tree and serve."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from pytest_jetson.console import SerialConsole


def test_tree_command_writes_a_tree_with_working_tools(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest_jetson.sim", "tree", str(tmp_path), "--board", "orin-nano"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lft = tmp_path / "Linux_for_Tegra"
    assert f"lft: {lft.absolute()}" in result.stdout
    help_ = subprocess.run(
        [str(lft / "tools/board_automation/boardctl"), "-h"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert help_.returncode == 0 and "Target board [topo | orin-slt | concord]" in help_.stdout
    no_rcm = subprocess.run(
        [str(lft / "nvautoflash.sh"), "--print_boardid"],
        cwd=lft,
        capture_output=True,
        text=True,
        check=False,
    )
    assert no_rcm.returncode == 5


def test_serve_prints_ports_and_stops_cleanly(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest_jetson.sim", "serve", str(tmp_path), "--board", "thor-agx"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        info = _served(proc, tmp_path)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:  # a failed assertion must not leave the DUT served
            proc.kill()
            proc.wait()
    assert not os.path.lexists(info["console"])


def _served(proc: subprocess.Popen[str], tmp_path: Path) -> dict[str, str]:
    """What ``serve`` printed, checked; the served DUT answers at its login prompt."""
    assert proc.stdout is not None
    info = {}
    for line in proc.stdout:
        key, _, value = line.strip().partition(": ")
        info[key] = value
        if line.startswith("serving"):
            break
    assert info["usb_port"] == "1-4"
    assert os.path.islink(info["console"])
    assert info["dut"].endswith(", booted)")
    with SerialConsole.open(info["console"], log=tmp_path / "console.log") as console:
        console.sendline("")  # a board at its login prompt answers with a fresh one
        console.expect(rb"tegra-ubuntu login: ?$", timeout=30, stage="login prompt")
    return info
