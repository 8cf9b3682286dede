"""Build once, flash many (issue 13): two Thor DUTs of one image share one Linux_for_Tegra tree
on one host; the first builds the images offline (``--no-flash``), the second reuses them and
each is flashed with ``--flash-only --usb-instance <its port>``."""

from __future__ import annotations

import pytest

from tests.helpers import HIL_TEST, run_flash, summary, write_bench

SHARED = """
lock_dir: locks
duts:
  t1:
    sim: {board: thor-agx, tree: thor}
    default_user: ubuntu
  t2:
    sim: {board: thor-agx, tree: thor}
    default_user: ubuntu
"""


def test_two_duts_of_one_image_build_once_and_each_flash_only_on_its_port(
    pytester: pytest.Pytester,
) -> None:
    write_bench(pytester, SHARED)
    pytester.makepyfile(test_hil=HIL_TEST)
    result, artifacts = run_flash(pytester, "t1,t2")
    assert result.ret == 0, result.stdout.str()[-3000:]
    first, second = summary(artifacts, "t1"), summary(artifacts, "t2")
    assert first["tree_lock"]["tree"] == second["tree_lock"]["tree"]  # one tree
    assert first["image_build"]["role"] == "built"
    assert second["image_build"] == {**first["image_build"], "role": "reused"}
    assert second["image_build"]["built_by"] == "t1"
    build = next(s for s in first["steps"] if s["step"] == "build")
    assert build["returncode"] == 0 and "--no-flash" in build["command"]
    assert "--usb-instance" not in build["command"]
    names = [word.partition("=")[0] for word in build["command"][:4]]
    assert names == ["BOARDID", "FAB", "BOARDSKU", "BOARDREV"]  # offline: no board is probed
    assert not any(s["step"] == "build" for s in second["steps"])
    ports = set()
    for data in (first, second):
        flash = next(s for s in data["steps"] if s["step"] == "flash")
        argv = flash["command"]
        assert argv[1:3] == ["--flash-only", "--usb-instance"], argv
        ports.add(argv[3])
        assert data["outcome"] == "booted"
    assert len(ports) == 2
    assert "Step 1: Generate flash packages" not in (artifacts / "t2" / "flash.log").read_text()
