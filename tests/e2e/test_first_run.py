"""Every user's first command on the simulated bench as shipped (issue 16): QA on a board that
is already flashed, derive-carrier, and fixture inspection."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from .conftest import Typed


def outcomes(result: subprocess.CompletedProcess[str]) -> dict[str, int]:
    """The counts of pytest's last summary line (``4 passed, 2 skipped in 1.2s``)."""
    last = result.stdout.strip().splitlines()[-1]
    return {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", last)}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


def test_qa_runs_the_on_board_suite_on_a_board_that_is_already_flashed(typed: Typed) -> None:
    result = typed("pytest", "--dut=sim-orin", "hil/", "-rs")
    assert result.returncode == 0, result.stdout + result.stderr
    assert outcomes(result) == {"passed": 4, "skipped": 2}
    assert "written for t264; DUT sim-orin is t234" in result.stdout
    assert "DUT sim-orin: its profile declares no custom_carrier" in result.stdout
    assert "jetson-flash" not in result.stdout  # nothing was flashed


def test_a_blank_board_waits_once_then_skips_at_once_with_the_reason(typed: Typed) -> None:
    result = typed(
        "pytest", "--dut=sim-orin", "--jetson-sim-start=blank", "--jetson-deadline=login=1",
        "--jetson-deadline=recovery=1", "hil/test_booted_board.py", "-rs",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    skips = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    latched = [s for s in skips if "DUT sim-orin is broken: no shell on DUT sim-orin" in s]
    waited = [s for s in skips if "no shell on DUT sim-orin: console" in s and s not in latched]
    assert len(waited) == 1 and "timed out after 1.0 s waiting for stage 'login" in waited[0]
    assert "test_booted_board.py:14" in waited[0]  # the first shell test waited its deadline
    assert len(latched) == 3 and all("timed out after 1.0 s" in s for s in latched)


def test_derive_carrier_as_the_readme_shows_then_the_fixture_finds_it_derived(
    typed: Typed, workdir: Path
) -> None:
    command = ("-m", "pytest_jetson", "derive-carrier")
    first = typed("python", *command, "--profile", "sim-orin-carrier", "--accept-commits")
    assert first.returncode == 0, first.stderr
    source = workdir / ".jetson" / "sim" / "sim-orin-carrier" / "source"
    tracker = git(source / "Linux_for_Tegra", "log", "--format=%h %s", "-3").splitlines()
    hardware = git(source / "hardware", "log", "--format=%h %s", "-1").strip()
    for commit in (*tracker, hardware):
        sha, subject = commit.split(" ", 1)
        assert re.search(rf"^    {sha}\w* {re.escape(subject)}$", first.stdout, re.M), commit
    assert "derive-carrier: fork p3737-0000-p3701-0000.conf for the p1234-0000" in first.stdout
    assert "pushed hardware commits to origin/main" in first.stdout
    assert git(source / "hardware", "rev-parse", "origin/main") == git(
        source / "hardware", "rev-parse", "HEAD"
    )
    again = typed(
        "pytest", "--dut=sim-orin-carrier", "--jetson-accept-commits",
        "hil/test_custom_carrier.py",
    )  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    assert outcomes(again) == {"passed": 1}
    assert "already derived: no commit made" in again.stdout
    assert len(git(source / "Linux_for_Tegra", "log", "--format=%h").split()) == len(tracker) + 1


@pytest.mark.parametrize("option", ["--setup-only", "--setup-plan", "--collect-only"])
def test_inspecting_fixtures_never_touches_the_bench(
    typed: Typed, workdir: Path, option: str
) -> None:
    result = typed("pytest", "--dut=sim-orin", option, "hil/", "-rs")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "jetson_dut_name" in result.stdout or option == "--collect-only"
    assert "test_booted_board.py" in result.stdout
    if option == "--setup-only":
        assert f"{option}: DUT sim-orin not touched" in result.stdout
    assert "console" not in {p.name for p in workdir.rglob("*.log")}
    assert not (workdir / "jetson-artifacts").exists()  # no log, no summary: nothing opened
