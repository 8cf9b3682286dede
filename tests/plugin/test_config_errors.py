"""A configuration error found late is reported once: the first test that meets it fails with
its message, every later test that needs a DUT skips naming it (issue 15, item 8)."""

from __future__ import annotations

import pytest

TESTS = """
def test_a(jetson_profile):
    pass

def test_b(jetson_dut):
    pass

def test_c(jetson_shell):
    pass

def test_without_a_dut():
    pass
"""


def test_a_missing_profile_is_one_error_and_the_rest_skip_naming_it(
    pytester: pytest.Pytester,
) -> None:
    pytester.makefile(".yaml", bench="duts:\n  orin-01:\n    profile: missing.yaml\n")
    pytester.makepyfile(test_x=TESTS)
    result = pytester.runpytest(
        "--dut=orin-01", f"--jetson-bench={pytester.path / 'bench.yaml'}", "-rs"
    )
    result.assert_outcomes(errors=1, skipped=2, passed=1)
    text = result.stdout.str()
    assert text.count("cannot read profile: No such file or directory") == 2  # error, skips
    assert "SKIPPED [2]" in text
    assert "configuration error, reported once above: " in text
    assert "During handling of the above exception" not in text
    assert "already exists" not in text


def test_a_bad_profile_option_is_a_usage_error_at_start_up(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x=TESTS)
    result = pytester.runpytest("--dut=sim-orin", "--jetson-profile=no-such-profile")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "--jetson-profile 'no-such-profile': " in err and "no such file" in err, err
    assert "Traceback" not in err
