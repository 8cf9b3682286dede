"""``python -m pytest_jetson gate BASELINE_DIR CANDIDATE_DIR``: pair the DUTs of two artifact
folders, judge them, print one verdict, write the HTML and JSON reports.

DUTs are paired as ``--pair BASE=CAND`` says, then by profile (one DUT of a profile on each
side), then by equal name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_jetson.errors import ConfigError, UsageError
from pytest_jetson.promotion.results import RunResults, load_folder
from pytest_jetson.promotion.verdict import GateVerdict, Thresholds, judge


@dataclass(frozen=True)
class Pairing:
    """The pairs, and the DUTs left without a partner (``baseline:NAME``)."""

    pairs: tuple[tuple[RunResults, RunResults], ...]
    unpaired: tuple[str, ...]


def pair_runs(
    base: Sequence[RunResults], cand: Sequence[RunResults], explicit: Sequence[str] = ()
) -> Pairing:
    """Pair baseline and candidate DUTs (``explicit`` entries are ``BASE=CAND``)."""
    left = {r.dut: r for r in base}
    right = {r.dut: r for r in cand}
    pairs: list[tuple[RunResults, RunResults]] = []
    for entry in explicit:
        b, eq, c = entry.partition("=")
        if not eq or b not in left or c not in right:
            raise UsageError(
                f"--pair {entry!r}: expected BASE_DUT=CAND_DUT with BASE_DUT one of "
                f"{', '.join(sorted(left)) or '(none)'} and CAND_DUT one of "
                f"{', '.join(sorted(right)) or '(none)'} (each paired once)"
            )
        pairs.append((left.pop(b), right.pop(c)))
    for profile in sorted({r.profile for r in left.values() if r.profile}):
        mine = [r for r in left.values() if r.profile == profile]
        theirs = [r for r in right.values() if r.profile == profile]
        if len(mine) == len(theirs) == 1:
            pairs.append((left.pop(mine[0].dut), right.pop(theirs[0].dut)))
    for name in sorted(set(left) & set(right)):
        pairs.append((left.pop(name), right.pop(name)))
    if len(left) == len(right) == 1 and not pairs:
        pairs.append((left.popitem()[1], right.popitem()[1]))
    unpaired = [f"baseline:{n}" for n in sorted(left)] + [f"candidate:{n}" for n in sorted(right)]
    return Pairing(tuple(pairs), tuple(unpaired))


def run_gate(
    baseline: Path,
    candidate: Path,
    *,
    pairs: Sequence[str] = (),
    thresholds: Thresholds | None = None,
    html: Path | None = None,
    json_path: Path | None = None,
    echo: Callable[[str], None] = print,
) -> GateVerdict:
    """Judge ``candidate`` against ``baseline``; print the verdict; write the reports."""
    pairing = pair_runs(load_folder(baseline), load_folder(candidate), pairs)
    gate = judge(pairing.pairs, unpaired=pairing.unpaired, thresholds=thresholds)
    for line in text_report(gate):
        echo(line)
    if html is not None:
        from pytest_jetson.promotion.report import render_gate

        write_report(html, render_gate(gate))
        echo(f"HTML report: {html}")
    if json_path is not None:
        import json

        write_report(json_path, json.dumps(json_report(gate), indent=1) + "\n")
        echo(f"JSON report: {json_path}")
    return gate


def write_report(path: Path, text: str) -> None:
    """Write a report file (its folder made); a ConfigError naming it when that fails."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write the report ({exc.strerror or exc})") from None


def text_report(gate: GateVerdict) -> list[str]:
    """What the command prints: the images when they differ, the verdict, its reasons, the
    flaky/known tests and cycles, fixes, new and removed tests."""
    lines = []
    for pair in gate.pairs:
        b, c = pair.baseline, pair.candidate
        if b.image.key() != c.image.key():
            lines.append(f"{b.dut}: baseline {b.image.label()} → candidate {c.image.label()}")
    lines.append(f"{gate.verdict}")
    lines += [f"  {reason}" for reason in gate.reasons]
    for pair in gate.pairs:
        for t in pair.transitions:
            if t.kind not in ("regression", "hidden"):
                note = f" ({t.note})" if t.note else ""
                lines.append(
                    f"  {t.kind}: {t.id}: {t.baseline} → {t.candidate}{note} [{pair.candidate.dut}]"
                )
        if pair.cycles.kind == "flaky":
            lines.append(f"  flaky/known: {pair.cycles.describe()} [{pair.candidate.dut}]")
        lines += [f"  stage {s.describe()}" for s in pair.stages if s.judged and not s.slower]
    return lines


def json_report(gate: GateVerdict) -> dict[str, Any]:
    """The verdict as JSON (for CI dashboards)."""
    return {
        "verdict": gate.verdict,
        "exit_code": gate.exit_code,
        "reasons": list(gate.reasons),
        "unpaired": list(gate.unpaired),
        "pairs": [
            {
                "baseline": {"dut": p.baseline.dut, "image": p.baseline.image.label()},
                "candidate": {"dut": p.candidate.dut, "image": p.candidate.image.label()},
                "verdict": p.verdict,
                "cycles": {
                    "kind": p.cycles.kind,
                    "baseline_failed": p.cycles.baseline_failed,
                    "baseline_total": p.cycles.baseline_total,
                    "candidate_failed": p.cycles.candidate_failed,
                    "candidate_total": p.cycles.candidate_total,
                    "candidate_hidden": p.cycles.candidate_hidden,
                    "failed_stages": list(p.cycles.failed_stages),
                },
                "stages": [
                    {
                        "stage": s.stage,
                        "clock": s.clock,
                        "baseline_median_s": round(s.baseline.median, 6),
                        "candidate_median_s": round(s.candidate.median, 6),
                        "delta_s": round(s.delta_s, 6),
                        "threshold_s": round(s.threshold_s, 6),
                        "judged": s.judged,
                        "slower": s.slower,
                    }
                    for s in p.stages
                ],
                "transitions": [
                    {
                        "id": t.id,
                        "kind": t.kind,
                        "baseline": t.baseline,
                        "candidate": t.candidate,
                        "note": t.note,
                    }
                    for t in p.transitions
                ],
            }
            for p in gate.pairs
        ],
    }
