"""The per-session plugin object exists only with a DUT selected; without one the fixtures
still skip with the reason."""

from __future__ import annotations

import pytest

PROBE = """
def pytest_collection_finish(session):
    plugin = session.config.pluginmanager.get_plugin("jetson-session")
    print("SESSION PLUGIN", type(plugin).__name__)
"""


def test_no_session_plugin_without_a_dut(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(PROBE)
    pytester.makepyfile(test_x="def test_x(jetson_profile):\n    pass\n")
    result = pytester.runpytest("-s", "-rs")
    result.stdout.fnmatch_lines(
        ["SESSION PLUGIN NoneType", "*SKIPPED*no DUT selected (use --dut NAME)*"]
    )
    result.assert_outcomes(skipped=1)


def test_the_session_plugin_is_registered_with_a_dut(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(PROBE)
    pytester.makepyfile(test_x="def test_x(jetson_dut_name):\n    assert jetson_dut_name\n")
    result = pytester.runpytest("-s", "--dut=sim-orin", "-v")
    result.stdout.fnmatch_lines(["SESSION PLUGIN JetsonPlugin", "*test_x?sim-orin? PASSED*"])
