"""With the ``[labgrid]`` extra installed, labgrid's own pytest plugin is active in every run; the
flash steps must work under it as installed, without ``-p no:labgrid`` (issue 15, item 10)."""

from __future__ import annotations

import importlib.util
import json

import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("labgrid") is None,
    reason="needs the labgrid extra: pip install -e '.[test,labgrid]'",
)


def test_flash_steps_run_under_labgrids_own_plugin(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_hil="def test_nothing():\n    pass\n")
    artifacts = pytester.path / "artifacts"
    result = pytester.runpytest_subprocess(
        "--dut=sim-orin",
        "--jetson-flash",
        "--jetson-plan-only",
        "--jetson-sim-speed=8",
        f"--jetson-artifacts={artifacts}",
        f"--junitxml={pytester.path / 'junit.xml'}",
        "test_hil.py",
        timeout=120,
    )
    text = result.stdout.str() + result.stderr.str()
    assert "fixturenames" not in text, text
    assert "plugins: " in text and "labgrid" in text.split("plugins: ")[1].splitlines()[0], text
    assert result.ret == 0, text
    junit = (pytester.path / "junit.xml").read_text()
    assert junit.count("<testcase") == 5 and "<error" not in junit and "<failure" not in junit
    summary = json.loads((artifacts / "sim-orin" / "summary.json").read_text())
    assert summary["outcome"] == "planned"
