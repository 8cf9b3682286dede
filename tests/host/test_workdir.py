"""Session folders: a killed session's folder is reclaimed, a live one's never."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from pytest_jetson.host.workdir import OWNER_LOCK, SessionFolder, reclaim_stale

# A session that makes its folder, says where, and waits to be killed.
OWNER = """
import sys
from pathlib import Path
from pytest_jetson.host.workdir import SessionFolder

folder = SessionFolder(Path(sys.argv[1]))
print(folder.path, flush=True)
sys.stdin.read()
"""


def start_owner(base: Path) -> tuple[subprocess.Popen[str], Path]:
    proc = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(base)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, Path(proc.stdout.readline().strip())


def test_a_killed_sessions_folder_is_reclaimed_a_live_ones_is_not(tmp_path: Path) -> None:
    live, live_folder = start_owner(tmp_path)
    dead, dead_folder = start_owner(tmp_path)
    (dead_folder / "sim-host").mkdir()
    try:
        os.kill(dead.pid, signal.SIGKILL)
        dead.wait()
        others = [tmp_path / "pytest-jetson-locks", tmp_path / "pytest-jetson-older"]
        for other in others:  # no owner lock: not a session folder of ours, or too old to tell
            other.mkdir()

        mine = SessionFolder(tmp_path)

        assert mine.reclaimed == [dead_folder] and not dead_folder.exists()
        assert live_folder.is_dir() and all(other.is_dir() for other in others)
        assert (mine.path / OWNER_LOCK).is_file()
        assert reclaim_stale(tmp_path) == []  # this session's own folder is held too
        mine.remove()
        assert not mine.path.exists()
    finally:
        live.kill()
        live.wait()
    assert reclaim_stale(tmp_path) == [live_folder]
