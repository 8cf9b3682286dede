"""Firmware and kernel timers read from console lines."""

from __future__ import annotations

import pytest

from pytest_jetson.cycles.timers import firmware_span, timer


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param("[0000.063] I> MB1 (version: 1.4.0.4-t234)", ("boot", 0.063), id="mb1"),
        pytest.param("[    1.234567] Linux version 5.15", ("kernel", 1.234567), id="kernel"),
        pytest.param("\ufffd\ufffd[   12.000001] usb 1-1: new", ("kernel", 12.000001), id="tcu"),
        pytest.param("I> MB2 (version: 0.0.0.0-t234)", None, id="orin-mb2-none"),
        pytest.param("Jetson UEFI firmware (version 36.4.4)", None, id="uefi-none"),
        pytest.param("[  OK  ] Started Journal Service.", None, id="systemd-ok"),
        pytest.param("text [    1.000000] later in the line", None, id="not-at-start"),
    ],
)
def test_timer_of_a_line(line: str, expected: tuple[str, float] | None) -> None:
    assert timer(line) == expected


def test_kernel_span_ends_at_the_handover_line() -> None:
    lines = ["EFI stub: Booting Linux Kernel...", "[    0.000000] Booting Linux", "[    0.5] x"]
    assert firmware_span("kernel", lines, "[    4.250000] systemd[1]: systemd 249") == 4.25


def test_orin_mb1_ends_at_its_last_timed_line_when_mb2_has_no_timer() -> None:
    lines = ["[0000.063] I> MB1 (version: 1)", "[0000.300] I> Task: Load MB2"]
    assert firmware_span("mb1", lines, "I> MB2 (version: 0.0.0.0)") == pytest.approx(0.237)


@pytest.mark.parametrize("stage", ["uefi", "login"])
def test_stages_without_a_clock_have_no_firmware_span(stage: str) -> None:
    assert firmware_span(stage, ["[    1.000000] a", "[    2.000000] b"], "") is None
