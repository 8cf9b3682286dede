"""Secret scrubbing and boardctl -h target parsing (shapes of R36.2, R38.4, R39.2)."""

from __future__ import annotations

from pytest_jetson.drivers.boardctl import parse_targets
from pytest_jetson.host.redact import Redactor

R36_HELP = """\
Usage: boardctl [options] <command>

  command: reset | recovery | usb_on | usb_off | power_on | power_off | status

Options:
  -h, --help            show this help message and exit
  -t TARGET, --target=TARGET
                        Target board [topo | orin-slt | concord]
  -s SERIAL, --serial=SERIAL
                        Debugger serial number
"""

R39_HELP_WRAPPED_WITH_NOISE = """\
BOARDCTL: version 20260507.1
External distribution detected.
Usage: boardctl [options] <command>

Options:
  -h, --help            show this help message and exit
  -t TARGET, --target=TARGET
                        Target board [topo | orin-jetson | thor-
                        jetson-module]
  -s SERIAL, --serial=SERIAL
"""

R38_NOISE_INSIDE_LIST = """\
BOARDCTL: version 20250517.1
  -t TARGET, --target=TARGET
                        Target board [topo |
External distribution detected.
                        thor-jetson-module]
"""


def test_r36_fixed_list() -> None:
    assert parse_targets(R36_HELP) == ("topo", "orin-slt", "concord")


def test_wrapped_hyphenated_names_and_banner_are_handled() -> None:
    assert parse_targets(R39_HELP_WRAPPED_WITH_NOISE) == (
        "topo",
        "orin-jetson",
        "thor-jetson-module",
    )


def test_stderr_noise_interleaved_in_the_list_is_skipped() -> None:
    assert parse_targets(R38_NOISE_INSIDE_LIST) == ("topo", "thor-jetson-module")


def test_bad_target_error_list_is_understood_and_garbage_gives_nothing() -> None:
    assert parse_targets("Use one of following: [topo | orin-slt | concord]") == (
        "topo",
        "orin-slt",
        "concord",
    )
    assert parse_targets("Segmentation fault") == ()


def test_redactor_literals_patterns_and_flags() -> None:
    redactor = Redactor(["hunter2"], patterns=[r"Password - (?P<secret>[^,\s]+)"], flags=["-p"])
    assert redactor("user hunter2 ok") == "user *** ok"
    assert (
        redactor("Creating: Username - nvidia, Password - nvidia, Autologin - true")
        == "Creating: Username - nvidia, Password - ***, Autologin - true"
    )
    assert redactor.argv(["tool", "-u", "nvidia", "-p", "nvidia", "x-hunter2"]) == (
        "tool",
        "-u",
        "nvidia",
        "-p",
        "***",
        "x-***",
    )


def test_multiline_secret_is_scrubbed_line_by_line() -> None:
    redactor = Redactor(["first-line\nsecond-line"])
    assert redactor("a first-line b") == "a *** b"
    assert redactor("second-line") == "***"
    assert not Redactor() and Redactor(["x"])
