"""The recovery ladder and quarantine, as a user sees them on a simulated bench: a wedged
console healed by a rung, a dead DUT quarantined and left alone by the next session, and
``requalify`` lifting or keeping the quarantine."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_jetson.recovery.quarantine import QuarantineStore
from tests.e2e.conftest import FlowRun
from tests.helpers import HIL_TEST, SPEED, junit_cases, properties, sim_calls, summary, write_bench

QUICK = ("--jetson-deadline=login=1", "--jetson-deadline=recovery=1", "--jetson-deadline=boot=3")
"""A wedged console is noticed in 1 s; after a rung the boot must start within 1 s and reach a
login within 3 s (the simulated one, at this speed, takes under one)."""


def bench(faults: str, *, ladder: str = "") -> str:
    return f"""
lock_dir: locks
duts:
  pair-a:
    sim: {{board: orin-agx, faults: [{faults}]}}
    default_user: ubuntu{ladder}
  pair-b:
    sim: {{board: thor-agx}}
    default_user: nvidia
"""


def run(pytester: pytest.Pytester, duts: str, *extra: str) -> tuple[pytest.RunResult, Path]:
    artifacts = pytester.path / "art"
    result = pytester.runpytest(
        f"--dut={duts}", SPEED, *QUICK, f"--jetson-artifacts={artifacts}",
        "--junitxml=junit.xml", "-rA", *extra, "test_hil.py",
    )  # fmt: skip
    return result, artifacts


@pytest.mark.parametrize(
    ("fault", "healed_by"),
    [
        pytest.param("console_silent", "reset", id="silent-until-reset"),
        pytest.param("hang_until_power_cycle", "power_cycle", id="hung-until-power-cycle"),
    ],
)
def test_a_wedged_console_is_healed_by_a_rung_and_the_test_goes_on(
    pytester: pytest.Pytester, fault: str, healed_by: str
) -> None:
    write_bench(pytester, bench(fault))
    pytester.makepyfile(test_hil=HIL_TEST)
    result, artifacts = run(pytester, "pair-a")
    result.assert_outcomes(passed=1)
    climbs = summary(artifacts, "pair-a")["recovery"]
    assert [r["rung"] for r in climbs[0]["rungs"]][-1] == healed_by
    assert climbs[0]["healed"] and climbs[0]["symptom"].startswith("console silent")
    (case,) = junit_cases(pytester.path / "junit.xml")
    assert f"{healed_by}: healed" in properties(case)["jetson_recovery"]
    assert not (pytester.path / "hil" / "locks" / "pair-a.quarantine.json").exists()


def test_a_dead_dut_is_quarantined_and_the_next_session_leaves_it_alone(
    pytester: pytest.Pytester,
) -> None:
    write_bench(pytester, bench("never_recovers", ladder="\n    ladder: [reset, power_cycle]"))
    pytester.makepyfile(test_hil=HIL_TEST)
    first, artifacts = run(pytester, "pair-a", "--jetson-deadline=recovery=0.5")
    first.assert_outcomes(skipped=1)
    rungs = summary(artifacts, "pair-a")["recovery"][0]["rungs"]
    assert [(r["rung"], r["healed"]) for r in rungs] == [
        ("reset", False),
        ("power_cycle", False),
    ]
    record = json.loads((pytester.path / "hil" / "locks" / "pair-a.quarantine.json").read_text())
    assert record["reason"].startswith("recovery ladder ran out")

    boardctl_log = artifacts / "pair-a" / "boardctl.log"
    boardctl_log.unlink(missing_ok=True)
    (pytester.path / "hil" / "locks" / "pair-a.lock").unlink(missing_ok=True)
    second, _ = run(pytester, "pair-a,pair-b")
    second.assert_outcomes(passed=1, errors=1)
    second.stdout.fnmatch_lines(["DUT pair-a is quarantined since*"])
    assert "Quarantined:" not in second.stdout.str()
    assert not boardctl_log.exists()  # no boardctl call
    assert not (pytester.path / "hil" / "locks" / "pair-a.lock").exists()  # no lock taken


def requalify(pytester: pytest.Pytester) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_jetson", "requalify", "pair-a", "--jetson-bench",
         "hil/bench.yaml"],
        cwd=pytester.path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_requalify_keeps_a_dead_dut_quarantined_and_lifts_a_healthy_one(
    pytester: pytest.Pytester,
) -> None:
    write_bench(pytester, bench("never_recovers"))
    store = QuarantineStore(pytester.path / "hil" / "locks")
    store.put("pair-a", "recovery ladder ran out", "an earlier run")
    record = store.path("pair-a")
    pytester.path.joinpath("pytest.ini").write_text(
        "[pytest]\naddopts = --jetson-sim-speed=50 --jetson-deadline=boot=3\n"
    )
    kept = requalify(pytester)  # no known-good image: a reset, then the boot validated
    assert kept.returncode == 1, kept.stdout + kept.stderr
    assert "console silent: not one byte in 3.0 s" in kept.stdout  # the boot deadline, < 30
    assert "still failing" in kept.stdout
    assert len(json.loads(record.read_text())["attempts"]) == 1

    # the board was replaced; the health check flashes its known-good image and validates it
    write_bench(pytester, bench("", ladder="\n    known_good: last-release"))
    lifted = requalify(pytester)
    assert lifted.returncode == 0, lifted.stdout + lifted.stderr
    assert "flashed and booted R36.4.3" in lifted.stdout
    assert "quarantine lifted" in lifted.stdout
    assert not record.exists()


def test_requalify_usage_errors_exit_2(pytester: pytest.Pytester) -> None:
    write_bench(pytester, bench(""))
    done = subprocess.run(
        [sys.executable, "-m", "pytest_jetson", "requalify", "no-such-dut"],
        cwd=pytester.path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr


PANIC_BENCH = """
lock_dir: locks
duts:
  cand:
    sim: {board: orin-agx, faults: [kernel_panic], state: kept/cand}
    default_user: ubuntu
    known_good: last-release  # a reflash could heal it: the ladder must still not climb
"""


def test_a_candidate_that_panics_is_a_product_failure_and_the_ladder_never_climbs(
    pytester: pytest.Pytester, flow_run: Callable[..., FlowRun]
) -> None:
    write_bench(pytester, PANIC_BENCH)
    run = flow_run("cand", "--jetson-sim-speed=50")
    assert run.outcome_of("kernel") == "failed"
    assert run.failure_node("kernel").tag == "failure"  # product: a <failure>, not an <error>
    assert 'name="failure_class" value="product"' in run.junit.read_text()
    assert run.summary["recovery"] == []
    assert "jetson_recovery" not in run.junit.read_text()
    assert not (pytester.path / "hil" / "locks" / "cand.quarantine.json").exists()
    # the simulator's own record: into recovery for the flash, nothing after the panic
    kept = pytester.path / "hil" / "kept" / "cand"
    assert sim_calls(kept, "boardctl") == [("recovery",)]
    assert len(sim_calls(kept, "flash")) == 1  # the candidate, once: never a reflash


KNOWN_GOOD_BENCH = """
lock_dir: locks
duts:
  board:
    sim: {{board: orin-agx, faults: [{fault}], state: kept/board}}
    default_user: ubuntu
    known_good: last-release  # a simulated DUT gets a second simulated tree as its known-good
    ladder: [reset, reflash]
"""


def test_a_dut_that_needs_a_reflash_is_healed_by_its_known_good_image_and_the_test_goes_on(
    pytester: pytest.Pytester,
) -> None:
    write_bench(pytester, KNOWN_GOOD_BENCH.format(fault="needs_reflash"))
    pytester.makepyfile(test_hil=HIL_TEST)
    result, artifacts = run(
        pytester, "board", "--jetson-sim-speed=50", "--jetson-deadline=recovery=0.5"
    )
    result.assert_outcomes(passed=1)
    (climb,) = summary(artifacts, "board")["recovery"]
    assert [(r["rung"], r["outcome"]) for r in climb["rungs"]] == [
        ("reset", "failed"),  # the inventory's ladder: [reset, reflash]
        ("reflash", "healed"),
    ]
    assert climb["failure_class"] == "infra" and climb["healed_by"] == "reflash"
    (case,) = junit_cases(pytester.path / "junit.xml")
    assert "reflash: healed" in properties(case)["jetson_recovery"]
    kept = pytester.path / "hil" / "kept" / "board"
    assert sim_calls(kept, "boardctl") == [
        ("reset",),
        ("recovery",),  # the known-good flash's RCM entry (T234 resets itself after it)
    ]
    assert len(sim_calls(kept, "flash")) == 1  # the known-good image, once
    known_good = (artifacts / "board" / "known-good" / "flash.log").read_text()
    assert "/images/board-known-good/" in known_good.splitlines()[0]
    assert not (pytester.path / "hil" / "locks" / "board.quarantine.json").exists()


DEAD_BENCH = """
lock_dir: locks
duts:
  board:
    sim: {board: orin-agx, faults: [never_recovers]}
    default_user: ubuntu
"""


def test_a_silent_console_after_the_flash_is_the_bench_and_ends_quarantined(
    pytester: pytest.Pytester, flow_run: Callable[..., FlowRun]
) -> None:
    write_bench(pytester, DEAD_BENCH)
    run = flow_run(
        "board", "--jetson-sim-speed=50", "--jetson-deadline=recovery=0.5",
        "--jetson-deadline=boot=1.2",
    )  # fmt: skip
    assert run.outcome_of("mb1") == "failed"
    assert run.failure_node("mb1").tag == "error"  # infra: an <error>, never a <failure>
    assert "console silent: not one byte" in run.failure_text("mb1")
    (climb,) = run.summary["recovery"]
    assert [(r["rung"], r["outcome"]) for r in climb["rungs"]] == [
        ("reset", "failed"),
        ("power_cycle", "failed"),
        ("recovery_reentry", "failed"),
        ("reflash", "skipped"),  # no known_good image in this inventory
    ]
    assert "recovery_reentry: failed" in run.properties("mb1")["jetson_recovery"]
    assert run.outcome_of("login") == "skipped"
    record = json.loads((pytester.path / "hil" / "locks" / "board.quarantine.json").read_text())
    assert record["reason"].startswith("recovery ladder ran out: mb1: console silent")


def test_boardctl_failing_at_the_rcm_check_climbs_and_the_flash_goes_on(
    pytester: pytest.Pytester, flow_run: Callable[..., FlowRun]
) -> None:
    write_bench(pytester, PANIC_BENCH.replace("kernel_panic", "topo_glitch"))
    run = flow_run("cand", "--jetson-sim-speed=50")
    assert run.result.ret == 0, run.text
    assert run.summary["outcome"] == "booted"
    (climb,) = run.summary["recovery"]
    assert climb["symptom"].startswith("preflight rcm: recovery request failed")
    assert (climb["failure_class"], climb["healed_by"]) == ("infra", "reset")
    assert "reset: healed" in run.properties("preflight-rcm")["jetson_recovery"]
    step = next(s for s in run.summary["steps"] if s["step"] == "preflight-rcm")
    assert step["outcome"] == "healed"
    kept = pytester.path / "hil" / "kept" / "cand"
    assert sim_calls(kept, "boardctl") == [("recovery",), ("reset",), ("recovery",)]


POOL = """
lock_dir: locks
duts:
  orin-1: {profile: jetson-agx-orin-devkit, sim: {board: orin-agx}, default_user: ubuntu}
  orin-2: {profile: jetson-agx-orin-devkit, sim: {board: orin-agx}, default_user: ubuntu}
"""


def test_a_pool_goes_on_with_its_healthy_duts_when_one_is_quarantined(
    pytester: pytest.Pytester, flow_run: Callable[..., FlowRun]
) -> None:
    write_bench(pytester, POOL)
    profile = pytester.path / "profiles" / "jetson-agx-orin-devkit.yaml"
    profile.parent.mkdir()
    profile.write_text(
        (Path(__file__).parents[2] / "profiles" / "jetson-agx-orin-devkit.yaml").read_text()
    )
    QuarantineStore(pytester.path / "hil" / "locks").put("orin-1", "ladder ran out", "a run")
    run = flow_run("@jetson-agx-orin-devkit", "--jetson-sim-speed=50")
    outcomes = run.result.parseoutcomes()
    assert outcomes.get("errors", outcomes.get("error")) == 1, run.text  # orin-1, once
    run.result.stdout.fnmatch_lines(["ERROR jetson-flash[[]orin-1[]]::01-preflight-bsp_image *"])
    first = next(
        case
        for case in junit_cases(run.junit)
        if "orin-1" in case.get("classname", "") and "01-preflight" in case.get("name", "")
    )
    error = first.find("error")
    assert error is not None and "DUT orin-1 is quarantined since" in error.get("message", "")
    assert outcomes["skipped"] == 15, run.text  # orin-1's other steps and test; orin-2's reset
    assert summary(run.artifacts, "orin-2")["outcome"] == "booted"
    assert not (run.artifacts / "orin-1" / "summary.json").exists()  # nothing ran on it
    assert not (pytester.path / "hil" / "locks" / "orin-1.lock").exists()  # never locked
