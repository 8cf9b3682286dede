"""``python -m pytest_jetson derive-carrier`` end to end, in a subprocess."""

from __future__ import annotations

import subprocess
import sys

from .conftest import CaseFactory


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_jetson", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def test_cli_without_acceptance_cancels_and_leaves_the_index_staged(make_case: CaseFactory) -> None:
    case = make_case("orin-agx", origin=False)
    cancelled = run("derive-carrier", "--profile", str(case.profile_path))
    assert cancelled.returncode == 1
    assert "not a terminal and no --accept-commits: cancelled" in cancelled.stderr
    assert "the index is left staged" in cancelled.stderr
    assert "acme1-0000-p3701-0000.conf" in case.git(case.tracker, "diff", "--cached", "--name-only")
    refused = run("derive-carrier", "--profile", str(case.profile_path), "--accept-commits")
    assert refused.returncode == 2 and "has staged changes" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_cli_accepts_and_is_idempotent(make_case: CaseFactory) -> None:
    case = make_case("thor-agx", form="bsp_sources")
    done = run("derive-carrier", "--profile", str(case.profile_path), "--accept-commits", "--bpmp")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "overlay-tracker" in out and "hardware" in out
    sha = case.git(case.ws.hardware_repo, "rev-parse", "HEAD").strip()
    assert sha[:12] in out
    assert "BPMP DTB: forked: tegra264-bpmp-3834-0008-4071-xxxx.dtb -> " in out
    assert "tegra264-acme1-0000+p3834-0008.dts" in out
    assert "pushed hardware commits to origin/main" in out
    again = run("derive-carrier", "--profile", str(case.profile_path), "--accept-commits", "--bpmp")
    assert again.returncode == 0
    assert "already derived: no commit made" in again.stdout
    assert again.stdout.count(": already derived") >= 14


def test_cli_refusal_is_one_message(tmp_path: object) -> None:
    result = run("derive-carrier", "--profile", "/nonexistent/profile.yaml")
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
