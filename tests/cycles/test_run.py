"""Stage timings of one boot from the boot sequencer's marks (a recorded console, no board)."""

from __future__ import annotations

from pytest_jetson.catalogue import T234
from pytest_jetson.console.boot import BootSequencer
from pytest_jetson.console.capture import CaptureConsole
from pytest_jetson.console.stages import StageMark
from pytest_jetson.cycles.run import stage_times

BOOT = (
    b"[0000.063] I> MB1 (version: 1.4.0.4-t234-54845784-e89ea9bc)\r\n"
    b"[0000.300] I> Task: Load MB2\r\n"
    b"I> MB2 (version: 0.0.0.0-t234-54845784-22833a33)\r\n"
    b"I> Task: Load UEFI\r\n"
    b"Jetson UEFI firmware (version 36.4.4-gcid-41062509 built on 2025-06-16)\r\n"
    b"EFI stub: Booting Linux Kernel...\r\n"
    b"[    0.000000] Booting Linux on physical CPU 0x0000000000 [0x410fd421]\r\n"
    b"[    0.412000] Linux version 5.15.148-tegra\r\n"
    b"[    1.375000] systemd[1]: systemd 249.11-0ubuntu3 running in system mode\r\n"
    b"[  OK  ] Reached target Multi-User System.\r\n"
    b"\r\ntegra-ubuntu login: "
)


def _boot(data: bytes) -> BootSequencer:
    sequencer = BootSequencer(CaptureConsole(data, name="capture"), T234, user_staged=True)
    sequencer.reach("login")
    return sequencer


def test_firmware_timers_where_the_lines_carry_them_host_spans_everywhere() -> None:
    boot = _boot(BOOT)
    times = {t.name: t for t in stage_times(boot.marks, boot.handover)}
    assert list(times) == ["mb1", "mb2", "uefi", "kernel", "login"]
    assert times["mb1"].firmware_s == 0.237  # MB1's last timed line: Orin's MB2 has no timer
    assert times["kernel"].firmware_s == 1.375  # up to systemd's first line (the hand-over)
    assert times["mb2"].firmware_s is None and times["uefi"].firmware_s is None
    assert times["login"].firmware_s is None
    assert all(t.observed and t.host_s is not None and t.host_s >= 0 for t in times.values())


def test_a_stage_whose_banner_was_lost_has_no_time_and_neither_has_the_one_before() -> None:
    lost = BOOT.replace(b"Jetson UEFI firmware (version", b"Jetson UEmware (version")
    boot = _boot(lost)
    times = {t.name: t for t in stage_times(boot.marks, boot.handover)}
    assert not times["uefi"].observed and times["uefi"].start_s is None
    assert not times["mb2"].observed and times["mb2"].start_s is not None  # its end was lost
    assert times["kernel"].observed and times["mb1"].observed


def test_without_a_known_reset_edge_start_times_count_from_mb1() -> None:
    marks = (
        StageMark("mb1", 4.0, "[0000.063] I> MB1 (", at=104.0),
        StageMark("mb2", 4.5, "I> MB2 (", at=104.5),
    )
    times = stage_times(marks, None, edge_known=False)
    assert (times[0].start_s, times[0].host_s) == (0.0, 0.5)
    assert times[1].start_s == 0.5 and not times[1].observed
    assert stage_times(marks, None)[0].start_s == 4.0


def test_a_failed_cycles_log_shows_each_line_once_with_the_stage_marks() -> None:
    from pytest_jetson.cycles.run import _log

    boot = _boot(BOOT)
    log = _log(boot.marks, boot.handover, "boot failed in stage login: test", "")
    lines = log.splitlines()
    assert lines[0].startswith("==== mb1 reached at ")
    marks = [ln.split(" reached")[0] for ln in lines if " reached at " in ln]
    stages = ("mb1", "mb2", "uefi", "kernel", "handover", "login")
    assert marks == [f"==== {stage}" for stage in stages]
    assert lines[-1] == "==== boot failed in stage login: test ===="
    for line in BOOT.decode().split("\r\n")[:-1]:
        if line:
            assert lines.count(line) == 1, (line, log)
    assert not any(ln.startswith("version: ") for ln in lines)  # no tail of a mark line
