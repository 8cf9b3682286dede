"""On-bench checks of a freshly booted Jetson (run after ``--jetson-flash``, or on a board
that is already up). These are examples of HIL tests users write against ``jetson_shell``."""

from __future__ import annotations

import re

import pytest

from pytest_jetson.console.shell import Shell
from pytest_jetson.profile import Profile


def test_board_runs_the_profile_release(jetson_shell: Shell, jetson_profile: Profile) -> None:
    text = jetson_shell.run("cat /etc/nv_tegra_release")
    match = re.search(r"# R(\d+) \(release\), REVISION: (\d+\.\d+)", text)
    assert match, f"no release line in /etc/nv_tegra_release:\n{text}"
    assert jetson_profile.bsp_image is not None
    assert f"R{match.group(1)}.{match.group(2)}" == jetson_profile.bsp_image.version


def test_kernel_is_a_tegra_kernel(jetson_shell: Shell) -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+-tegra", jetson_shell.run("uname -r").strip())


@pytest.mark.jetson_chip("t264")
def test_thor_runs_a_6_8_kernel(jetson_shell: Shell) -> None:
    assert jetson_shell.run("uname -r").startswith("6.8.")


@pytest.mark.jetson_chip("t234")
def test_orin_runs_a_5_15_kernel(jetson_shell: Shell) -> None:
    assert jetson_shell.run("uname -r").startswith("5.15.")


def test_echo_round_trips_over_the_console(jetson_shell: Shell) -> None:
    assert jetson_shell.run("echo pytest-jetson-says-hello").strip() == "pytest-jetson-says-hello"
