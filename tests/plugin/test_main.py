"""The plugin as a user meets it: options, inertness, DUT resolution and the profile fixture."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROFILE_TEST = """
def test_profile(jetson_profile):
    print("PROFILE", jetson_profile.name, jetson_profile.chip.catalogue_id,
          jetson_profile.reference_devkit.module.sku, jetson_profile.board)
"""


@pytest.fixture
def bench(pytester: pytest.Pytester) -> pytest.Pytester:
    """A rootdir with profiles/ and hil/bench.yaml like the project's own."""
    for name in ("jetson-agx-orin-devkit", "jetson-agx-thor-devkit"):
        pytester.makefile(
            ".yaml", **{f"profiles/{name}": (ROOT / "profiles" / f"{name}.yaml").read_text()}
        )
    pytester.makefile(
        ".yaml",
        **{
            "hil/bench": """
duts:
  orin-01: {profile: jetson-agx-orin-devkit, boardctl_target: topo}
  thor-01: {profile: jetson-agx-thor-devkit}
"""
        },
    )
    pytester.makepyfile(test_profile=PROFILE_TEST)
    return pytester


def test_help_shows_the_jetson_group(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "*Jetson hardware-in-the-loop*",
            "*--dut=NAME*",
            "*--jetson-bench=PATH*",
            "*--jetson-profile=NAME|PATH*",
            "*jetson_bench (string)*",
        ]
    )


def test_markers_are_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(
        ["*jetson_preflight(*checks, on_fail='fail')*", "*jetson_chip(*chips)*"]
    )


def test_without_dut_the_plugin_is_inert(bench: pytest.Pytester) -> None:
    (bench.path / "hil" / "bench.yaml").write_text("duts: [this is not read\n")
    result = bench.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*no DUT selected (use --dut NAME)*"])


def test_strict_turns_the_missing_dut_skip_into_a_failure(bench: pytest.Pytester) -> None:
    result = bench.runpytest("--jetson-strict")
    result.assert_outcomes(errors=1)  # the fixture setup fails: the run is red, not skipped
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*no DUT selected (use --dut NAME) [[]--jetson-strict[]]*"])


def test_dut_resolves_through_the_inventory(bench: pytest.Pytester) -> None:
    result = bench.runpytest("--dut=thor-01", "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*PROFILE jetson-agx-thor-devkit t264 0008 jetson-agx-thor-devkit"]
    )


def test_dut_from_the_environment(bench: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JETSON_DUT", "orin-01")
    result = bench.runpytest("-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*PROFILE jetson-agx-orin-devkit t234 0000 *"])


def test_unknown_dut_is_a_usage_error_listing_known_names(bench: pytest.Pytester) -> None:
    result = bench.runpytest("--dut=thor-99")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*unknown DUT 'thor-99' in *bench.yaml; known DUTs: "
            "orin-01, sim-orin, sim-orin-carrier, sim-orin-nano, sim-thor, thor-01*"
        ]
    )


def test_malformed_inventory_is_a_usage_error_with_file_and_line(bench: pytest.Pytester) -> None:
    (bench.path / "hil" / "bench.yaml").write_text("duts:\n  orin-01: {profile: x, colour: red}\n")
    result = bench.runpytest("--dut=orin-01")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*hil/bench.yaml:2: duts.orin-01.colour: unknown key*"])
    assert "Traceback" not in result.stderr.str()


def test_jetson_profile_overrides_by_name_and_path(bench: pytest.Pytester) -> None:
    result = bench.runpytest("--dut=orin-01", "--jetson-profile=jetson-agx-thor-devkit", "-s")
    result.stdout.fnmatch_lines(["*PROFILE jetson-agx-thor-devkit t264 *"])
    path = bench.path / "profiles" / "jetson-agx-thor-devkit.yaml"
    result = bench.runpytest("--dut=orin-01", f"--jetson-profile={path}", "-s")
    result.stdout.fnmatch_lines(["*PROFILE jetson-agx-thor-devkit t264 *"])


def test_bench_option_and_ini_select_the_inventory(bench: pytest.Pytester) -> None:
    other = bench.path / "lab" / "benches" / "b2.yaml"
    other.parent.mkdir(parents=True)
    other.write_text("duts:\n  only-here: {profile: ../../profiles/jetson-agx-orin-devkit.yaml}\n")
    result = bench.runpytest(f"--jetson-bench={other}", "--dut=only-here", "-s")
    result.stdout.fnmatch_lines(["*PROFILE jetson-agx-orin-devkit *"])
    bench.makeini("[pytest]\njetson_bench = lab/benches/b2.yaml\n")
    result = bench.runpytest("--dut=only-here", "-s")
    result.stdout.fnmatch_lines(["*PROFILE jetson-agx-orin-devkit *"])


def test_profile_fixture_is_frozen(bench: pytest.Pytester) -> None:
    bench.makepyfile(
        test_frozen="""
import dataclasses, pytest
def test_frozen(jetson_profile):
    with pytest.raises(dataclasses.FrozenInstanceError):
        jetson_profile.boot_device = "external"
"""
    )
    bench.runpytest("--dut=orin-01", "test_frozen.py").assert_outcomes(passed=1)


def test_a_bench_conftest_overrides_dut_resolution(bench: pytest.Pytester) -> None:
    bench.makeconftest(
        """
import pytest
from pytest_jetson.bench import BenchEntry
from pytest_jetson.profile import load_profile

def pytest_jetson_known_duts(config):
    return ["lab-db-7"]

def pytest_jetson_resolve_dut(config, name, workdir):
    if name == "lab-db-7":
        profile = load_profile(config.rootpath / "profiles" / "jetson-agx-orin-devkit.yaml")
        return BenchEntry(name=name, profile=profile, boardctl_target="topo")
    return None
"""
    )
    result = bench.runpytest("--dut=lab-db-7", "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*PROFILE jetson-agx-orin-devkit t234 0000 *"])
