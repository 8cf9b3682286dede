"""The geometry of the boot timeline picture: one bar per stage per cycle, baseline and
candidate side by side on one time scale, the slower stages marked.

A row is a cycle on this host's clock: each bar starts when its stage was reached, counted from
the reset edge, and is as long as the stage lasted, so the gap before MB1 and a stage that grew
both show. (The timing table judges on the firmware's own timers where a stage has them; the
picture shows what the host saw.) The template draws these as inline SVG, so the report needs
nothing but the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pytest_jetson.cycles.record import STAGE_NAMES, CycleRecord
from pytest_jetson.cycles.stats import ClockKind, stage_clock

COLOURS = {
    "mb1": "#4e79a7",
    "mb2": "#59a14f",
    "uefi": "#b6992d",
    "kernel": "#f28e2b",
    "login": "#76b7b2",
}
PANEL_WIDTH = 460.0
LABEL_WIDTH = 70.0
ROW_HEIGHT = 18.0
TOP = 34.0


@dataclass(frozen=True)
class Bar:
    """One stage of one cycle."""

    x: float
    y: float
    width: float
    stage: str
    cycle: int
    side: str
    seconds: float
    slower: bool

    @property
    def colour(self) -> str:
        """The stage's colour."""
        return COLOURS.get(self.stage, "#999999")


@dataclass(frozen=True)
class Row:
    """A cycle's label (and its failure, drawn after its last bar)."""

    y: float
    label: str
    failure: str
    failure_x: float


@dataclass(frozen=True)
class Panel:
    """One side (baseline or candidate)."""

    side: str
    title: str
    x: float
    bars: tuple[Bar, ...]
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Timeline:
    """The whole picture."""

    width: float
    height: float
    panels: tuple[Panel, ...]
    ticks: tuple[tuple[float, str], ...]
    """(x offset within a panel, label) of the time axis."""
    scale_s: float
    """Seconds across a panel's width."""


def clocks_of(cycles: Sequence[CycleRecord]) -> dict[str, ClockKind]:
    """The clock of each stage for a single run (the firmware's where every cycle has it)."""
    return {stage: stage_clock(cycles, stage) for stage in STAGE_NAMES}


def layout(
    sides: Sequence[tuple[str, str, Sequence[CycleRecord]]],
    slower: frozenset[str] = frozenset(),
    marked_side: str = "candidate",
) -> Timeline:
    """Place the bars of every side: ``sides`` are (side, title, cycles)."""
    totals = [_total(c) for _, _, cycles in sides for c in cycles] or [1.0]
    scale = _nice(max(max(totals), 1e-3))
    rows = max((len(cycles) for _, _, cycles in sides), default=0)
    panels = []
    for n, (side, title, cycles) in enumerate(sides):
        x0 = n * (LABEL_WIDTH + PANEL_WIDTH + 20.0) + LABEL_WIDTH
        bars: list[Bar] = []
        labels: list[Row] = []
        for r, cycle in enumerate(cycles):
            y = TOP + r * ROW_HEIGHT
            x = 0.0
            for stage in STAGE_NAMES:
                time = cycle.stage(stage)
                if time.host_s is None or time.start_s is None:
                    continue
                x = PANEL_WIDTH * time.start_s / scale
                width = PANEL_WIDTH * time.host_s / scale
                mark = stage in slower and side == marked_side
                bars.append(
                    Bar(x0 + x, y, max(width, 0.5), stage, cycle.index, side, time.host_s, mark)
                )
                x += width
            failure = ""
            if cycle.outcome != "passed":
                failure = f"✗ {cycle.failed_stage or cycle.outcome}"
            labels.append(Row(y, f"cycle {cycle.index}", failure, x0 + x + 4))
        panels.append(Panel(side, title, x0, tuple(bars), tuple(labels)))
    ticks = tuple((PANEL_WIDTH * k / 4, f"{scale * k / 4:.2f} s") for k in range(5))
    width = len(sides) * (LABEL_WIDTH + PANEL_WIDTH + 20.0) + 40.0
    return Timeline(width, TOP + rows * ROW_HEIGHT + 30.0, tuple(panels), ticks, scale)


def _total(cycle: CycleRecord) -> float:
    ends = [(t.start_s or 0.0) + (t.host_s or 0.0) for t in cycle.stages]
    return max(ends, default=0.0)


def _nice(value: float) -> float:
    """The smallest 1, 2 or 5 times 10^k at least ``value`` (a round axis end)."""
    step = 10.0 ** (len(str(int(value))) - 1) if value >= 1 else 0.1
    while step > value:
        step /= 10
    for factor in (1, 2, 5, 10):
        if step * factor >= value:
            return step * factor
    return value
