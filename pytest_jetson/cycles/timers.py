"""The firmware's and the kernel's own timers on console lines.

MB1 lines start with the boot clock, seconds and milliseconds since power-on (``[0000.063] ``);
Thor's MB2 lines carry it too, Orin's MB2 and every UEFI line carry none. Kernel lines start
with seconds since the kernel started (``[    1.234567] ``). On the Tegra Combined UART a line
may begin with a couple of undecodable bytes where the stream switched processor, so a timer is
looked for within the first few characters, not only at the very start.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

Clock = Literal["boot", "kernel"]

_TIMER = re.compile(r"^.{0,4}?\[\s*(\d+)\.(\d+)\]")

FIRMWARE_CLOCK: dict[str, Clock] = {"mb1": "boot", "mb2": "boot", "kernel": "kernel"}
"""The clock each stage's lines may carry; the UEFI stage and the userspace part before the
login prompt have none."""


def timer(line: str) -> tuple[Clock, float] | None:
    """The clock and value of the timer that ``line`` starts with, or None."""
    match = _TIMER.match(line)
    if match is None:
        return None
    whole, fraction = match.groups()
    if len(fraction) == 3 and len(whole) == 4:
        return "boot", int(whole) + int(fraction) / 1000
    if len(fraction) == 6:
        return "kernel", int(whole) + int(fraction) / 1_000_000
    return None


def firmware_span(stage: str, lines: Sequence[str], end_line: str) -> float | None:
    """How long ``stage`` lasted on its own clock: from the first timed line of the stage
    (``lines``) to ``end_line`` (the line that showed the next stage) when that carries the
    same clock, else to the stage's last timed line. None without two timed points."""
    clock = FIRMWARE_CLOCK.get(stage)
    if clock is None:
        return None
    points = [t[1] for t in map(timer, [*lines, end_line]) if t is not None and t[0] == clock]
    if len(points) < 2:
        return None
    return round(points[-1] - points[0], 6)
