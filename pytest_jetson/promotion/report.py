"""The HTML report: one self-contained file (inline CSS and SVG, no script, nothing fetched)
with the verdict at the top, the boot timeline picture, the per-stage timing table with
deltas, the test transitions and the console log of each failing cycle with its stage marks.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import jinja2

from pytest_jetson.cycles.stats import stage_stats
from pytest_jetson.promotion.results import RunResults
from pytest_jetson.promotion.timeline import COLOURS, clocks_of, layout
from pytest_jetson.promotion.verdict import GateVerdict


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("pytest_jetson.promotion", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def render_gate(gate: GateVerdict) -> str:
    """The report of a gate verdict."""
    pairs = []
    for pair in gate.pairs:
        slower = frozenset(d.stage for d in pair.stages if d.slower)
        sides = [
            ("baseline", f"baseline {pair.baseline.dut}", pair.baseline.cycles),
            ("candidate", f"candidate {pair.candidate.dut}", pair.candidate.cycles),
        ]
        pairs.append({"pair": pair, "timeline": layout(sides, slower)})
    return (
        _environment()
        .get_template("report.html.j2")
        .render(gate=gate, pairs=pairs, runs=[], colours=COLOURS, title="Promotion gate")
    )


def render_run(runs: Sequence[RunResults]) -> str:
    """The report of one run (``--jetson-report``): each DUT's timeline, stages, results."""
    shown = []
    for run in runs:
        clocks = clocks_of(run.cycles)
        timeline = layout([("run", run.dut, run.cycles)])
        shown.append({"run": run, "timeline": timeline, "stats": stage_stats(run.cycles, clocks)})
    return (
        _environment()
        .get_template("report.html.j2")
        .render(gate=None, pairs=[], runs=shown, colours=COLOURS, title="pytest-jetson run")
    )
