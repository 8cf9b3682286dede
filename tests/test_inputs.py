"""Numbers a timer cannot hold are refused where they are given, never crash a run
(issue 15, item 6): ``inf``, ``nan``, huge values and negatives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_jetson.bench import load_inventory
from pytest_jetson.errors import ConfigError, UsageError
from pytest_jetson.inputs import MAX_SECONDS, check_seconds, seconds_problem

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        pytest.param(float("inf"), "finite", id="inf"),
        pytest.param(float("nan"), "finite", id="nan"),
        pytest.param(1e300, "at most 604800", id="huge"),
        pytest.param(-1.0, "positive", id="negative"),
        pytest.param(0.0, "positive", id="zero"),
    ],
)
def test_unusable_seconds_are_named(value: float, problem: str) -> None:
    found = seconds_problem(value)
    assert found is not None and problem in found
    with pytest.raises(UsageError, match=problem):
        check_seconds(value, "--jetson-deadline flash")


def test_usable_seconds_pass() -> None:
    assert seconds_problem(MAX_SECONDS) is None
    assert seconds_problem(0.0, zero_ok=True) is None
    assert check_seconds(0.5, "x") == 0.5


@pytest.mark.parametrize(
    "option",
    [
        pytest.param("--jetson-deadline=flash=inf", id="deadline-inf"),
        pytest.param("--jetson-deadline=boot=1e300", id="deadline-huge"),
        pytest.param("--jetson-deadline=login=nan", id="deadline-nan"),
        pytest.param("--jetson-lock-timeout=inf", id="lock-inf"),
        pytest.param("--jetson-lock-timeout=nan", id="lock-nan"),
        pytest.param("--jetson-lock-timeout=1e300", id="lock-huge"),
        pytest.param("--jetson-sim-speed=inf", id="speed-inf"),
        pytest.param("--jetson-sim-speed=nan", id="speed-nan"),
    ],
)
def test_options_a_timer_cannot_hold_are_usage_errors(
    pytester: pytest.Pytester, option: str
) -> None:
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    result = pytester.runpytest("--dut=sim-orin", "--jetson-flash", option, "test_x.py")
    err = result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str() + err
    assert "INTERNALERROR" not in err and "Traceback" not in err
    assert option.split("=")[0] in err


@pytest.mark.parametrize("value", [".inf", ".nan", "1e300"])
def test_an_inventory_deadline_a_timer_cannot_hold_names_file_line_and_key(
    tmp_path: Path, value: str
) -> None:
    bench = tmp_path / "bench.yaml"
    bench.write_text(
        "duts:\n"
        "  orin-01:\n"
        f"    profile: {ROOT / 'profiles' / 'jetson-agx-orin-devkit.yaml'}\n"
        "    deadlines:\n"
        f"      flash: {value}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_inventory(bench)
    message = str(caught.value)
    assert str(bench) in message and ":5" in message and "flash" in message, message


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        pytest.param(lambda d: "~nosuch-user-jetson/p.yaml", "no such user", id="unknown-user"),
        pytest.param(lambda d: _loop(d), "cannot read profile", id="symlink-loop"),
        pytest.param(lambda d: "prof\0ile.yaml", "NUL byte", id="nul"),
    ],
)
def test_a_profile_path_the_os_refuses_is_one_usage_error(
    pytester: pytest.Pytester, make: Any, expected: str
) -> None:
    pytester.makepyfile(test_x="def test_x(jetson_profile):\n    pass\n")
    result = pytester.runpytest("--dut=sim-orin", f"--jetson-profile={make(pytester.path)}")
    err = result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str() + err
    assert "--jetson-profile" in err and expected in err, err
    assert "Traceback" not in err and "INTERNALERROR" not in err


def _loop(folder: Path) -> str:
    (folder / "a.yaml").symlink_to(folder / "b.yaml")
    (folder / "b.yaml").symlink_to(folder / "a.yaml")
    return str(folder / "a.yaml")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param('"~nosuch-user-jetson/p.yaml"', "no such user", id="unknown-user"),
        pytest.param('"prof\\0ile.yaml"', "NUL byte", id="nul"),
    ],
)
def test_an_inventory_profile_path_the_os_refuses_names_file_line_and_key(
    tmp_path: Path, value: str, expected: str
) -> None:
    bench = tmp_path / "bench.yaml"
    bench.write_text(f"duts:\n  orin-01:\n    profile: {value}\n")
    inventory = load_inventory(bench)
    with pytest.raises(ConfigError) as caught:
        inventory.entry("orin-01")
    message = str(caught.value)
    assert f"{bench}:3" in message and "duts.orin-01.profile" in message, message
    assert expected in message


def test_an_artifacts_folder_that_is_a_file_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    (pytester.path / "artifacts").write_text("not a folder")
    result = pytester.runpytest(
        "--dut=sim-orin", f"--jetson-artifacts={pytester.path / 'artifacts'}"
    )
    err = result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str() + err
    assert "--jetson-artifacts" in err and "is not a folder" in err, err
    assert "Traceback" not in err


def test_a_summary_that_cannot_be_written_is_a_bench_error_and_leaves_no_temp_file(
    tmp_path: Path,
) -> None:
    from pytest_jetson.errors import BenchError
    from pytest_jetson.flash.tool import FlashSummary

    blocker = tmp_path / "dut"
    blocker.write_text("a file where the DUT's folder should be")
    summary = FlashSummary(dut="dut", plan={}, plan_digest="")
    with pytest.raises(BenchError, match="cannot write the summary"):
        summary.write(blocker / "summary.json")
    target = tmp_path / "ok" / "summary.json"
    summary.write(target)
    assert target.is_file() and not target.with_suffix(".tmp").exists()


def test_the_simulator_refuses_a_file_as_its_tree_folder(tmp_path: Path) -> None:
    import subprocess
    import sys

    file = tmp_path / "file"
    file.write_text("x")
    done = subprocess.run(
        [sys.executable, "-m", "pytest_jetson.sim", "tree", str(file), "--board", "orin-agx"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "not a folder" in done.stderr and "Traceback" not in done.stderr
