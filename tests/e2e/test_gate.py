"""The promotion gate end to end on the simulated bench (issue 18's "Done when").

The module shares a few pytest sessions, started at once (they mostly wait on simulated boots):
simulated AGX Orin DUTs of a bench inventory, each with its own faults, booted five times with
``--jetson-boot-cycles`` (one flashed first, one without boardctl). Every DUT gets its own
artifacts folder, which the gate compares as it compares two runs' folders. Timing verdicts
come from the simulated firmware and kernel timers (seeded), never from this machine's clock,
so the simulated bench may run fast.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

DUTS = {"base": "", "slow": "slow_stage=kernel:800ms", "same": ""}
"""Booted from their current image (no flash): five boot cycles each."""
FLAKY = {"flaky-a": "flaky_boot=0.2", "flaky-b": "flaky_boot=0.2"}
"""In the same session; with seed 0, boots 2 and 4 of every run panic."""
FLASHED = {"dropped": "usb_drop_mid_flash"}
"""Flashed first (``--jetson-flash``): the USB drop fails the flash, the cycles cannot run."""
SILENT = {"silent": "hang_until_power_cycle"}
"""Found hung: a reset does nothing, so every cycle's console stays silent (the bench's)."""
MANUAL = {"manual": ""}
"""No boardctl (``recovery: manual``): each cycle types ``sudo reboot`` on the console."""
CYCLES = 5
STAGES = ("mb1", "mb2", "uefi", "kernel", "login")


@dataclass(frozen=True)
class BenchRun:
    """The shared sessions: the artifacts (one folder per DUT), output and run report."""

    artifacts: Path
    text: str
    report: Path


def _session(
    folder: Path, duts: dict[str, str], *options: str, recovery: str = "boardctl"
) -> subprocess.Popen[str]:
    """Start ``python -m pytest`` on ``duts`` (a bench inventory of simulated AGX Orins)."""
    folder.mkdir()
    lines = ["lock_dir: locks", "duts:"]
    for name, faults in duts.items():
        lines += [f"  {name}:", f"    sim: {{board: orin-agx, faults: [{faults}]}}"]
        lines += ["    default_user: ubuntu", f"    recovery: {recovery}"]
    (folder / "bench.yaml").write_text("\n".join(lines) + "\n")
    (folder / "test_board.py").write_text("def test_board(jetson_dut):\n    assert jetson_dut\n")
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--rootdir={folder}"]
    argv += [f"--dut={','.join(duts)}", f"--jetson-bench={folder / 'bench.yaml'}"]
    argv += [f"--jetson-artifacts={folder.parent / 'artifacts'}", "--jetson-sim-speed=50"]
    argv += [f"--jetson-boot-cycles={CYCLES}", *options, "test_board.py"]
    return subprocess.Popen(
        argv, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory) -> BenchRun:
    """The sessions, once for the whole suite: under pytest-xdist the module's tests may land
    on several workers, which share the first one's run (a file lock in their common folder)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by every worker of this suite run
    folder = root / "gate-bench"
    done, failed = root / "gate-bench.txt", root / "gate-bench.failed"
    with FileLock(str(root / "gate-bench.lock")):
        if not done.is_file() and not failed.is_file():
            folder.mkdir()
            try:
                done.write_text(_run_sessions(folder))
            except AssertionError as exc:
                failed.write_text(str(exc))
                raise
    if failed.is_file():
        pytest.fail(f"the shared sessions failed (on another worker):\n{failed.read_text()}")
    return BenchRun(folder / "artifacts", done.read_text(), folder / "run.html")


def _run_sessions(folder: Path) -> str:
    """The sessions at once (they mostly wait on simulated boots), one artifacts folder;
    their output."""
    report = folder / "run.html"
    booted = _session(folder / "booted", DUTS | FLAKY, f"--jetson-report={report}")
    flashed = _session(folder / "flashed", FLASHED, "--jetson-flash", "--jetson-accept-plan")
    silent = _session(folder / "silent", SILENT, "--jetson-deadline=boot=1")
    manual = _session(folder / "manual", MANUAL, "--jetson-boot-cycles=2", recovery="manual")
    sessions = (booted, flashed, silent, manual)
    texts = [session.communicate(timeout=300)[0] for session in sessions]
    text = "\n".join(texts)
    assert "Traceback" not in text, text
    assert booted.returncode == 1, texts[0]  # the flaky boots fail
    assert flashed.returncode == 1, texts[1]  # the USB drop errors
    assert silent.returncode == 1, texts[2]  # the silent console errors
    assert manual.returncode == 0, texts[3]
    return text


def gate(base: Path, cand: Path, *options: str) -> tuple[int, str, dict[str, Any]]:
    """Run ``python -m pytest_jetson gate`` as a user would; (status, output, JSON)."""
    report = cand.parent / f"gate-{base.name}-{cand.name}.json"
    argv = [sys.executable, "-m", "pytest_jetson", "gate", str(base), str(cand)]
    done = subprocess.run(
        [*argv, "--json", str(report), *options],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    data = json.loads(report.read_text()) if report.is_file() else {}
    return done.returncode, output, data


def test_a_slower_kernel_is_rejected_naming_the_stage_and_its_delta(
    bench_run: BenchRun, browser: Any
) -> None:
    reboot = r"tools/board_automation/boardctl -t topo (-s \S+ )?reset"
    assert re.search(rf"Boot cycles:  {CYCLES} x {reboot}\n", bench_run.text)  # dropped's plan
    assert re.search(rf"Boot cycles of DUT slow: {CYCLES} x {reboot}\n", bench_run.text)
    assert f"boot cycle {CYCLES}/{CYCLES} [slow]: mb1 " in bench_run.text
    html = bench_run.artifacts / "gate.html"
    status, out, report = gate(
        bench_run.artifacts / "base", bench_run.artifacts / "slow", "--html", str(html)
    )
    assert status == 1, out
    assert "REJECT" in out.splitlines()
    reason = next(line for line in out.splitlines() if "stage kernel" in line)
    assert "slower" in reason and "firmware clock" in reason and "+0.8" in reason
    stages = {s["stage"]: s for s in report["pairs"][0]["stages"]}
    assert stages["kernel"]["slower"] and stages["kernel"]["clock"] == "firmware"
    assert stages["kernel"]["delta_s"] == pytest.approx(0.8, abs=0.05)
    assert [s for s, v in stages.items() if v["slower"]] == ["kernel"]
    _what_a_person_sees_in_the_gate_report(browser, html)


def test_an_identical_candidate_is_promoted(bench_run: BenchRun) -> None:
    status, out, report = gate(bench_run.artifacts / "base", bench_run.artifacts / "same")
    assert status == 0, out
    assert "PROMOTE" in out.splitlines()
    assert not any(s["slower"] for s in report["pairs"][0]["stages"])
    summary = json.loads((bench_run.artifacts / "same" / "summary.json").read_text())
    assert len(summary["boot_cycles"]["cycles"]) == CYCLES
    assert set(summary["boot_cycles"]["stages"]["kernel"]) >= {"median_s", "p90_s", "mad_s"}
    results = json.loads((bench_run.artifacts / "same" / "results.json").read_text())
    ids = [r["id"] for r in results["results"]]
    assert "jetson-cycles[same]::boot-cycle-05" in ids and "test_board.py::test_board[same]" in ids
    assert all(
        {"id", "outcome", "failure_class", "duration_s"} <= set(r) for r in results["results"]
    )


def test_flaky_boots_reject_on_one_side_and_are_known_on_both(bench_run: BenchRun) -> None:
    assert "jetson boot-cycle-02 [flaky-b]: boot failed in stage 'kernel'" in bench_run.text
    assert "==== kernel reached at" in bench_run.text  # the cycle's console log, stage marks
    status, out, report = gate(bench_run.artifacts / "base", bench_run.artifacts / "flaky-b")
    assert status == 1, out
    cycles = report["pairs"][0]["cycles"]
    assert cycles["kind"] == "regression" and cycles["candidate_failed"] > 0
    assert cycles["failed_stages"] == ["kernel"]
    assert any("failed on the candidate (kernel)" in line for line in out.splitlines())

    status, out, report = gate(bench_run.artifacts / "flaky-a", bench_run.artifacts / "flaky-b")
    assert status == 0, out
    assert report["pairs"][0]["cycles"]["kind"] == "flaky"
    assert any(line.strip().startswith("flaky/known: boot cycles") for line in out.splitlines())


def test_a_usb_drop_mid_flash_is_inconclusive_not_a_rejection(bench_run: BenchRun) -> None:
    status, out, report = gate(bench_run.artifacts / "base", bench_run.artifacts / "dropped")
    assert status == 3, out
    assert "INCONCLUSIVE" in out.splitlines()
    assert report["pairs"][0]["cycles"]["candidate_hidden"] == CYCLES
    assert any("hidden by an infra failure" in line for line in out.splitlines())
    results = json.loads((bench_run.artifacts / "dropped" / "results.json").read_text())
    flash = next(r for r in results["results"] if r["id"].endswith("-flash"))
    assert (flash["outcome"], flash["failure_class"]) == ("failed", "infra")


def test_a_silent_console_in_every_cycle_is_the_bench_inconclusive(bench_run: BenchRun) -> None:
    assert "console silent: not one byte in" in bench_run.text
    status, out, report = gate(bench_run.artifacts / "base", bench_run.artifacts / "silent")
    assert status == 3, out
    assert report["pairs"][0]["cycles"]["candidate_hidden"] == CYCLES
    results = json.loads((bench_run.artifacts / "silent" / "results.json").read_text())
    cycles = [r for r in results["results"] if "boot-cycle" in r["id"]]
    assert [(r["outcome"], r["failure_class"]) for r in cycles] == [("failed", "infra")] * CYCLES


def test_without_boardctl_a_cycle_reboots_from_the_shell(bench_run: BenchRun) -> None:
    reboot = "sudo reboot on the DUT's console (no boardctl on this bench)"
    assert f"Boot cycles of DUT manual: 2 x {reboot}" in bench_run.text
    results = json.loads((bench_run.artifacts / "manual" / "results.json").read_text())
    cycles = results["cycles"]
    assert [(c["index"], c["outcome"], c["reboot"]) for c in cycles] == [
        (1, "passed", reboot),
        (2, "passed", reboot),
    ]
    for cycle in cycles:  # the shutdown takes an unknown time: the stages count from MB1
        starts = [s["start_s"] for s in cycle["stages"]]
        assert starts[0] == 0.0 and starts == sorted(starts)


def test_a_missing_folder_is_a_usage_error(bench_run: BenchRun, tmp_path: Path) -> None:
    status, out, _ = gate(bench_run.artifacts / "base", tmp_path / "nothing")
    assert status == 2 and "error:" in out and "nothing" in out, out


def test_the_run_report_shows_each_duts_timeline(bench_run: BenchRun, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.get(bench_run.report.as_uri())
    assert browser.find_elements(By.ID, "verdict") == []
    runs = browser.find_elements(By.CSS_SELECTOR, "section.run")
    names = [r.find_element(By.TAG_NAME, "h2").text.split(":")[0] for r in runs]
    assert names == [*DUTS, *FLAKY]
    base = runs[0]
    assert len(base.find_elements(By.CSS_SELECTOR, "rect.bar")) == CYCLES * len(STAGES)


def _what_a_person_sees_in_the_gate_report(browser: Any, html: Path) -> None:
    """The verdict at the top, one bar per stage per cycle on each side, the slower stage
    marked on the candidate's bars and in the table."""
    from selenium.webdriver.common.by import By

    browser.get(html.as_uri())
    verdict = browser.find_element(By.ID, "verdict")
    assert verdict.is_displayed() and verdict.text == "REJECT"
    assert verdict.location["y"] < 100  # at the top
    bars = browser.find_elements(By.CSS_SELECTOR, "svg.timeline rect.bar")
    seen: dict[str, set[tuple[str, str]]] = {"baseline": set(), "candidate": set()}
    for bar in bars:
        assert bar.is_displayed() and bar.size["width"] > 0
        seen[bar.get_attribute("data-side")].add(
            (bar.get_attribute("data-cycle"), bar.get_attribute("data-stage"))
        )
    expected = {(str(c), s) for c in range(1, CYCLES + 1) for s in STAGES}
    assert len(bars) == 2 * CYCLES * len(STAGES)
    assert seen == {"baseline": expected, "candidate": expected}
    slower = browser.find_elements(By.CSS_SELECTOR, "rect.bar.slower")
    assert {(b.get_attribute("data-side"), b.get_attribute("data-stage")) for b in slower} == {
        ("candidate", "kernel")
    }
    assert len(slower) == CYCLES and all(b.get_attribute("stroke") == "#c62828" for b in slower)
    marked = browser.find_element(By.CSS_SELECTOR, "table.stages tr.slower")
    assert marked.get_attribute("data-stage") == "kernel" and "SLOWER" in marked.text
