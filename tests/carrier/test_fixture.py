"""The ``jetson_derived_carrier`` fixture and the commit-preview hook, driven with pytester."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from .conftest import CaseFactory

TEST = """
def test_derived(jetson_derived_carrier):
    record = jetson_derived_carrier
    assert record.custom_key == "acme1-0000"
    assert record.row("flash-conf").status in ("forked", "already derived")
    print("SHAS", record.shas("overlay-tracker"))
"""


def test_fixture_derives_and_records_shas_as_junit_properties(
    pytester: pytest.Pytester, make_case: CaseFactory
) -> None:
    case = make_case("orin-agx")
    pytester.makepyfile(test_it=TEST)
    xml = pytester.path / "junit.xml"
    result = pytester.runpytest(
        "-p",
        "pytest_jetson.plugin.fixtures_carrier",
        f"--jetson-profile={case.profile_path}",
        "--jetson-accept-commits",
        f"--junitxml={xml}",
    )
    result.assert_outcomes(passed=1)
    props = {p.get("name"): p.get("value") for p in ET.parse(xml).getroot().iter("property")}
    tracker = case.git(case.tracker, "log", "--format=%H", "-3").split()
    assert props["jetson_carrier"] == "acme1-0000"
    assert props["jetson_carrier_overlay_tracker_0"] == tracker[2]
    assert props["jetson_carrier_overlay_tracker_2"] == tracker[0]
    assert (
        props["jetson_carrier_hardware_0"]
        == case.git(case.ws.hardware_repo, "rev-parse", "HEAD").strip()
    )


def test_default_preview_cancels_without_acceptance_and_the_fixture_errors(
    pytester: pytest.Pytester, make_case: CaseFactory
) -> None:
    case = make_case("orin-nano", origin=False)
    pytester.makepyfile(test_it=TEST)
    result = pytester.runpytest(
        "-p", "pytest_jetson.plugin.fixtures_carrier", f"--jetson-profile={case.profile_path}"
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*derive-carrier: commit cancelled in*the index is left staged*",
            "*acme1-0000-p3767-0000-a0.conf*",
        ]
    )
    assert "acme1-p3767.conf" in case.git(case.tracker, "diff", "--cached", "--name-only")


def test_a_conftest_hook_answers_the_preview(
    pytester: pytest.Pytester, make_case: CaseFactory
) -> None:
    case = make_case("thor-agx", origin=False)
    pytester.makeconftest(
        """
from pytest_jetson.carrier import CommitDecision

SEEN = []

def pytest_jetson_commit_preview(config, repo, staged, message):
    SEEN.append((str(repo), list(staged)))
    return CommitDecision.edit("bench: " + message)
"""
    )
    pytester.makepyfile(test_it=TEST)
    result = pytester.runpytest(
        "-p", "pytest_jetson.plugin.fixtures_carrier", f"--jetson-profile={case.profile_path}"
    )
    result.assert_outcomes(passed=1)
    subjects = case.git(case.tracker, "log", "--format=%s", "-3").splitlines()
    assert all(s.startswith("bench: derive-carrier: ") for s in subjects)
