"""Per-stage statistics over boot cycles: median, p90 and spread (median absolute deviation).

A stage is timed on the firmware's own clock when every cycle that observed it carries that
clock, else on the host clock (one clock per stage, never a mix).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pytest_jetson.cycles.record import STAGE_NAMES, CycleRecord

ClockKind = Literal["firmware", "host"]


def median(values: Sequence[float]) -> float:
    """The median (the mean of the two middle values for an even count)."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        raise ValueError("median of no values")
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def p90(values: Sequence[float]) -> float:
    """The 90th percentile by nearest rank (a value that was measured)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    return ordered[max(math.ceil(0.9 * len(ordered)) - 1, 0)]


def mad(values: Sequence[float]) -> float:
    """The median absolute deviation from the median: the spread, robust to one bad cycle."""
    centre = median(values)
    return median([abs(v - centre) for v in values])


@dataclass(frozen=True)
class StageStats:
    """One stage over the cycles that observed it."""

    stage: str
    clock: ClockKind
    values: tuple[float, ...]
    """The stage's duration in each cycle that observed it, in seconds."""

    @property
    def count(self) -> int:
        """How many cycles observed the stage."""
        return len(self.values)

    @property
    def median(self) -> float:
        """Median duration (0 when no cycle observed the stage)."""
        return median(self.values) if self.values else 0.0

    @property
    def p90(self) -> float:
        """90th percentile duration."""
        return p90(self.values) if self.values else 0.0

    @property
    def mad(self) -> float:
        """Spread: median absolute deviation."""
        return mad(self.values) if self.values else 0.0


def stage_clock(cycles: Sequence[CycleRecord], stage: str) -> ClockKind:
    """``firmware`` when every cycle that observed ``stage`` has its firmware timer."""
    seen = [c.stage(stage) for c in cycles if c.stage(stage).observed]
    return "firmware" if seen and all(s.firmware_s is not None for s in seen) else "host"


def stage_values(cycles: Sequence[CycleRecord], stage: str, clock: ClockKind) -> list[float]:
    """The duration of ``stage`` on ``clock`` in every cycle that observed it."""
    values = []
    for cycle in cycles:
        time = cycle.stage(stage)
        value = time.firmware_s if clock == "firmware" else time.host_s
        if time.observed and value is not None:
            values.append(value)
    return values


def stage_stats(
    cycles: Sequence[CycleRecord], clocks: dict[str, ClockKind] | None = None
) -> tuple[StageStats, ...]:
    """Statistics of every stage, on the clock :func:`stage_clock` picks (or ``clocks``)."""
    result = []
    for stage in STAGE_NAMES:
        clock = (clocks or {}).get(stage) or stage_clock(cycles, stage)
        result.append(StageStats(stage, clock, tuple(stage_values(cycles, stage, clock))))
    return tuple(result)


def summary_json(cycles: Sequence[CycleRecord], reboot: str) -> dict[str, object]:
    """What ``summary.json`` keeps of the cycles: every cycle, per-stage statistics, failures."""
    return {
        "reboot": reboot,
        "cycles": [c.to_json() for c in cycles],
        "stages": {
            s.stage: {
                "clock": s.clock,
                "count": s.count,
                "median_s": round(s.median, 6),
                "p90_s": round(s.p90, 6),
                "mad_s": round(s.mad, 6),
            }
            for s in stage_stats(cycles)
        },
        "failures": [
            {
                "cycle": c.index,
                "stage": c.failed_stage,
                "failure_class": c.failure_class,
                "message": c.message,
            }
            for c in cycles
            if c.outcome == "failed"
        ],
    }
