"""Per-stage statistics over boot cycles: median, p90, spread, and the clock of a stage."""

from __future__ import annotations

import pytest

from pytest_jetson.cycles.record import CycleRecord, StageTime
from pytest_jetson.cycles.stats import mad, median, p90, stage_stats, summary_json


def test_median_p90_and_spread() -> None:
    values = [1.0, 1.1, 0.9, 1.0, 5.0]
    assert median(values) == 1.0
    assert p90(values) == 5.0
    assert mad(values) == pytest.approx(0.1)
    assert median([1.0, 2.0]) == 1.5


def _cycle(index: int, kernel_fw: float | None, kernel_host: float = 1.0) -> CycleRecord:
    return CycleRecord(index, "passed", stages=(StageTime("kernel", 1.0, kernel_host, kernel_fw),))


def test_a_stage_is_timed_on_the_firmware_clock_only_when_every_cycle_has_it() -> None:
    both = stage_stats([_cycle(1, 2.0), _cycle(2, 2.2)])
    kernel = next(s for s in both if s.stage == "kernel")
    assert (kernel.clock, kernel.values) == ("firmware", (2.0, 2.2))
    mixed = stage_stats([_cycle(1, 2.0), _cycle(2, None, 1.5)])
    kernel = next(s for s in mixed if s.stage == "kernel")
    assert (kernel.clock, kernel.values) == ("host", (1.0, 1.5))


def test_the_summary_keeps_every_cycle_the_statistics_and_the_failures() -> None:
    failed = CycleRecord(3, "failed", "product", "kernel", "kernel panic")
    data = summary_json([_cycle(1, 2.0), _cycle(2, 2.2), failed], "boardctl -t topo reset")
    assert len(data["cycles"]) == 3  # type: ignore[arg-type]
    assert data["stages"]["kernel"]["median_s"] == 2.1  # type: ignore[index]
    assert data["failures"] == [  # every failure with its stage
        {"cycle": 3, "stage": "kernel", "failure_class": "product", "message": "kernel panic"}
    ]
