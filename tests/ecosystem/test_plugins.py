"""The flow with the plugins a CI job commonly adds: pytest-rerunfailures (``--reruns``),
pytest-randomly, pytest-xdist, pytest-html and allure-pytest.

A flash step is never rerun (NVIDIA's rule: a flash is never retried), the steps keep their
order, and the exit status, the step outcomes and ``summary.json`` always agree: a failed flash
never ends green. CI runs this in a virtual environment with the ``ecosystem`` extra
(``.ci/run``); elsewhere it skips naming what is missing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

PLUGINS = {
    "pytest_rerunfailures": "pytest-rerunfailures",
    "pytest_randomly": "pytest-randomly",
    "xdist": "pytest-xdist",
    "pytest_html": "pytest-html",
    "allure_pytest": "allure-pytest",
}
MISSING = [dist for module, dist in PLUGINS.items() if importlib.util.find_spec(module) is None]
pytestmark = pytest.mark.skipif(
    bool(MISSING),
    reason=f"needs {', '.join(MISSING)}: pip install -e '.[test,ecosystem]'",
)

HIL_TEST = """
def test_on_the_board(jetson_shell):
    assert jetson_shell.run("echo on-the-board").strip() == "on-the-board"
"""


def _run(tmp_path: Path, *options: str) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    (tmp_path / "test_hil.py").write_text(HIL_TEST)
    artifacts, junit = tmp_path / "artifacts", tmp_path / "junit.xml"
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "--dut=sim-orin",
        "--jetson-flash",
        "--jetson-accept-plan",
        "--jetson-sim-speed=8",
        f"--jetson-artifacts={artifacts}",
        f"--junitxml={junit}",
        "--reruns=2",
        "-p",
        "randomly",
        "-n",
        "2",
        f"--html={tmp_path / 'report.html'}",
        f"--alluredir={tmp_path / 'allure'}",
        "-p",
        "no:cacheprovider",
        *options,
        "test_hil.py",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    done = subprocess.run(
        argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    return done, artifacts / "sim-orin" / "summary.json", junit


def _step_cases(junit: Path) -> list[tuple[str, str]]:
    root = ET.parse(junit).getroot()
    cases = []
    for case in root.iter("testcase"):
        name = case.get("name", "")
        if name[:2].isdigit():
            kind = next(
                (k for k in ("failure", "error", "skipped") if case.find(k) is not None), ""
            )
            cases.append((name, kind or "passed"))
    return cases


def test_a_failed_flash_is_never_rerun_and_the_session_fails(tmp_path: Path) -> None:
    done, summary_path, junit = _run(tmp_path, "--jetson-sim-fault=flash_fail")
    out = done.stdout + done.stderr
    summary = json.loads(summary_path.read_text())
    assert summary["outcome"] == "failed", out
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, out
    flash_runs = [s for s in summary["steps"] if s["step"] == "flash" and s.get("returncode")]
    assert len(flash_runs) == 1, summary["steps"]  # flash.sh ran once, whatever --reruns says
    log = (summary_path.parent / "flash.log").read_text()
    assert log.count("./flash.sh --usb-instance") == 1
    flash = [kind for name, kind in _step_cases(junit) if name.endswith("-flash")]
    assert flash and flash[-1] in ("failure", "error"), _step_cases(junit)


def test_a_good_flow_keeps_its_order_and_agrees_with_its_summary(tmp_path: Path) -> None:
    done, summary_path, junit = _run(tmp_path)
    out = done.stdout + done.stderr
    summary = json.loads(summary_path.read_text())
    assert done.returncode == 0, out
    assert summary["outcome"] in ("booted", "validated", "flashed"), summary["outcome"]
    names = [name for name, _ in _step_cases(junit)]
    assert names == sorted(names), names  # 01-… before 02-…: randomly did not reorder them
    assert all(kind in ("passed", "skipped") for _, kind in _step_cases(junit))
