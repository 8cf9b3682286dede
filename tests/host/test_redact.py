"""Secret scrubbing: literals, patterns, flags and multi-line secrets."""

from __future__ import annotations

from pytest_jetson.host.redact import Redactor


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
