"""The gate's rules: one verdict for a candidate run against a baseline run.

- A *regression* is a test or step that passed on the baseline and fails as a product failure
  on the candidate; more product failures among a DUT's boot cycles on the candidate than on
  the baseline; or a boot stage whose median rose by more than max(5 %, 2 x the baseline's
  spread) with at least 5 cycles on each side.
- *Infra* failures never count as regressions; where they hide a result that matters (a test
  that passed on the baseline, the boot cycles) the verdict is INCONCLUSIVE and names it.
- A test that fails on both sides, or whose outcome is mixed within a side, is *flaky / known*:
  listed, never merged into a pass. Fixes, new and removed tests are listed.

Any regression → REJECT; else anything hidden or a DUT without a partner → INCONCLUSIVE; else
PROMOTE.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from pytest_jetson.cycles.record import CycleRecord
from pytest_jetson.cycles.stats import ClockKind, StageStats, stage_clock, stage_stats
from pytest_jetson.promotion.results import RunResults, TestResult

Verdict = Literal["PROMOTE", "REJECT", "INCONCLUSIVE"]
EXIT_CODES: dict[Verdict, int] = {"PROMOTE": 0, "REJECT": 1, "INCONCLUSIVE": 3}
Kind = Literal["regression", "hidden", "flaky", "fixed", "new", "removed", "not_run"]
CYCLE_ID = "::boot-cycle-"


@dataclass(frozen=True)
class Thresholds:
    """When a stage counts as slower (all configurable on the command line)."""

    relative: float = 0.05
    """The median must rise by more than this fraction of the baseline's median…"""
    spread_factor: float = 2.0
    """…and by more than this many times the baseline's spread (median absolute deviation)."""
    min_cycles: int = 5
    """Stages are judged only with at least this many cycles on each side."""
    min_host_delta_s: float = 0.25
    """On the host clock (no firmware timer) a rise must also exceed this: the serial line and
    a loaded host jitter by that much, the firmware's own timers do not."""


@dataclass(frozen=True)
class Transition:
    """A test whose result matters for the verdict or is worth listing."""

    id: str
    kind: Kind
    baseline: str
    candidate: str
    note: str = ""


@dataclass(frozen=True)
class StageDelta:
    """One boot stage, baseline against candidate, on one clock."""

    stage: str
    clock: ClockKind
    baseline: StageStats
    candidate: StageStats
    threshold_s: float
    judged: bool
    """Both sides had enough cycles to judge."""

    @property
    def delta_s(self) -> float:
        """How much the candidate's median rose (negative: faster)."""
        return self.candidate.median - self.baseline.median

    @property
    def relative(self) -> float:
        """The rise as a fraction of the baseline's median."""
        return self.delta_s / self.baseline.median if self.baseline.median else 0.0

    @property
    def slower(self) -> bool:
        """A timing regression."""
        return self.judged and self.delta_s > self.threshold_s

    def describe(self) -> str:
        """``kernel +0.800 s (+133 %, firmware clock; threshold 0.030 s)``."""
        return (
            f"{self.stage} {self.delta_s:+.3f} s ({self.relative:+.0%}, {self.clock} clock; "
            f"threshold {self.threshold_s:.3f} s)"
        )


@dataclass(frozen=True)
class CycleGroup:
    """A DUT's boot cycles judged as one group."""

    kind: Literal["ok", "regression", "hidden", "flaky", "none"]
    baseline_failed: int
    baseline_total: int
    candidate_failed: int
    candidate_total: int
    candidate_hidden: int
    failed_stages: tuple[str, ...] = ()
    """The stages the candidate's failed cycles failed in."""

    def describe(self) -> str:
        """``boot cycles: 2 of 5 failed on the candidate (kernel), 0 of 5 on the baseline``."""
        stages = f" ({', '.join(self.failed_stages)})" if self.failed_stages else ""
        hidden = f", {self.candidate_hidden} hidden by infra" if self.candidate_hidden else ""
        return (
            f"boot cycles: {self.candidate_failed} of {self.candidate_total} failed on the "
            f"candidate{stages}{hidden}, {self.baseline_failed} of {self.baseline_total} on "
            "the baseline"
        )


@dataclass(frozen=True)
class PairVerdict:
    """One baseline DUT against its candidate DUT."""

    baseline: RunResults
    candidate: RunResults
    transitions: tuple[Transition, ...]
    stages: tuple[StageDelta, ...]
    cycles: CycleGroup

    def reasons(self, verdict: Verdict) -> list[str]:
        """Why this pair gives ``verdict`` (regressions, or what infra hid)."""
        name = f"{self.baseline.dut}→{self.candidate.dut}"
        if verdict == "REJECT":
            found = [
                f"{name}: {t.id} passed on the baseline, fails on the candidate"
                for t in self.transitions
                if t.kind == "regression"
            ]
            found += [f"{name}: stage {s.describe()} slower" for s in self.stages if s.slower]
            if self.cycles.kind == "regression":
                found.append(f"{name}: {self.cycles.describe()}")
            return found
        found = [
            f"{name}: {t.id} hidden by an infra failure ({t.note})"
            for t in self.transitions
            if t.kind == "hidden"
        ]
        if self.cycles.kind == "hidden":
            found.append(f"{name}: {self.cycles.describe()}")
        return found

    @property
    def verdict(self) -> Verdict:
        """This pair's own verdict."""
        if self.reasons("REJECT"):
            return "REJECT"
        return "INCONCLUSIVE" if self.reasons("INCONCLUSIVE") else "PROMOTE"


@dataclass(frozen=True)
class GateVerdict:
    """The one verdict over every pair."""

    verdict: Verdict
    reasons: tuple[str, ...]
    pairs: tuple[PairVerdict, ...]
    unpaired: tuple[str, ...] = field(default=())

    @property
    def exit_code(self) -> int:
        """0 PROMOTE, 1 REJECT, 3 INCONCLUSIVE."""
        return EXIT_CODES[self.verdict]


def judge(
    pairs: Sequence[tuple[RunResults, RunResults]],
    *,
    unpaired: Sequence[str] = (),
    thresholds: Thresholds | None = None,
) -> GateVerdict:
    """The verdict over ``pairs`` of (baseline, candidate) DUT results."""
    limits = thresholds or Thresholds()
    judged = tuple(judge_pair(b, c, limits) for b, c in pairs)
    rejects = [r for p in judged for r in p.reasons("REJECT")]
    if rejects:
        return GateVerdict("REJECT", tuple(rejects), judged, tuple(unpaired))
    hidden = [r for p in judged for r in p.reasons("INCONCLUSIVE")]
    hidden += [f"{name}: no partner in the other run" for name in unpaired]
    if not judged:
        hidden.append("no DUT of the baseline could be paired with one of the candidate")
    verdict: Verdict = "INCONCLUSIVE" if hidden else "PROMOTE"
    return GateVerdict(verdict, tuple(hidden), judged, tuple(unpaired))


def judge_pair(base: RunResults, cand: RunResults, limits: Thresholds) -> PairVerdict:
    """Tests, boot cycles and stage timings of one pair."""
    return PairVerdict(
        baseline=base,
        candidate=cand,
        transitions=transitions(base, cand),
        stages=stage_deltas(base.cycles, cand.cycles, limits),
        cycles=cycle_group(base.cycles, cand.cycles),
    )


def _tests(run: RunResults, normalise: bool) -> dict[str, TestResult]:
    """Tests and steps by id, without the boot cycles (judged as a group); with
    ``normalise`` (the two sides' DUTs have different names) the DUT's name is taken out of
    the ids (``test_x[<dut>]``)."""
    if not normalise:
        return {r.id: r for r in run.results if CYCLE_ID not in r.id}
    return {r.id.replace(run.dut, "<dut>"): r for r in run.results if CYCLE_ID not in r.id}


def transitions(base: RunResults, cand: RunResults) -> tuple[Transition, ...]:
    """Every test whose comparison is worth listing, in id order."""
    normalise = base.dut != cand.dut
    before, after = _tests(base, normalise), _tests(cand, normalise)
    infra_on_cand = _infra_note(cand, normalise)
    found = []
    for test_id, b in before.items():
        c = after.get(test_id)
        if c is not None and b.outcome == c.outcome == "passed" and not (b.attempts or c.attempts):
            continue  # the common case, decided without classifying
        found.append(_transition(test_id, b, c, infra_on_cand))
    for test_id in after.keys() - before.keys():
        found.append(_transition(test_id, None, after[test_id], infra_on_cand))
    return tuple(sorted((t for t in found if t is not None), key=lambda t: t.id))


def _transition(
    test_id: str, b: TestResult | None, c: TestResult | None, infra_on_cand: str
) -> Transition | None:
    kind, note = _classify(b, c, infra_on_cand)
    return None if kind is None else Transition(test_id, kind, _shown(b), _shown(c), note)


def _classify(
    b: TestResult | None, c: TestResult | None, infra_on_cand: str
) -> tuple[Kind | None, str]:
    if b is None:
        return ("new", "") if c is not None else (None, "")
    if c is None:
        return "removed", ""
    if b.outcome == "skipped" and not b.mixed:
        return ("new", "skipped on the baseline") if c.outcome == "failed" else (None, "")
    if b.mixed or c.mixed:
        return "flaky", "mixed outcomes within a run"
    if b.outcome == "passed":
        if c.outcome == "failed":
            return ("regression", "") if c.failure_class != "infra" else ("hidden", "infra error")
        if c.outcome == "skipped" and infra_on_cand:
            return "hidden", infra_on_cand
        return ("not_run", "skipped on the candidate") if c.outcome == "skipped" else (None, "")
    if b.failure_class == "infra":
        if c.outcome == "failed":
            return "hidden", "infra error on the baseline"
        return None, ""
    if c.outcome == "failed":
        return "flaky", "fails on both sides"
    return ("fixed", "") if c.outcome == "passed" else ("not_run", "skipped on the candidate")


def _infra_note(run: RunResults, normalise: bool) -> str:
    infra = [r.id for r in run.results if r.failure_class == "infra"]
    if normalise:
        infra = [i.replace(run.dut, "<dut>") for i in infra]
    return f"infra error in {infra[0]}" if infra else ""


def _shown(result: TestResult | None) -> str:
    if result is None:
        return "absent"
    if result.mixed:
        return "/".join(sorted(result.outcomes))
    if result.outcome == "failed" and result.failure_class:
        return f"failed ({result.failure_class})"
    return result.outcome


def cycle_group(base: Sequence[CycleRecord], cand: Sequence[CycleRecord]) -> CycleGroup:
    """The boot cycles of one DUT on both sides as one group."""

    def count(cycles: Sequence[CycleRecord]) -> tuple[int, int, int]:
        failed = sum(c.outcome == "failed" and c.failure_class == "product" for c in cycles)
        total = sum(c.outcome == "passed" or c.failure_class == "product" for c in cycles)
        return failed, total, len(cycles) - total

    b_failed, b_total, b_hidden = count(base)
    c_failed, c_total, c_hidden = count(cand)
    stages = tuple(
        sorted({c.failed_stage for c in cand if c.failure_class == "product" and c.failed_stage})
    )
    kind: Literal["ok", "regression", "hidden", "flaky", "none"]
    if not base and not cand:
        kind = "none"
    elif c_failed > b_failed + b_hidden:
        kind = "regression"
    elif c_hidden or (base and not cand) or c_failed > b_failed:
        kind = "hidden"
    elif c_failed and b_failed:
        kind = "flaky"
    else:
        kind = "ok"
    return CycleGroup(
        kind, b_failed, b_total, c_failed, c_total, c_hidden + (0 if cand else len(base)), stages
    )


def stage_deltas(
    base: Sequence[CycleRecord], cand: Sequence[CycleRecord], limits: Thresholds
) -> tuple[StageDelta, ...]:
    """Every stage on the clock both sides carry (the firmware's when both have it)."""
    if not base or not cand:
        return ()
    clocks: dict[str, ClockKind] = {}
    for stats in stage_stats(base):
        both = stage_clock(base, stats.stage) == stage_clock(cand, stats.stage) == "firmware"
        clocks[stats.stage] = "firmware" if both else "host"
    deltas = []
    for b, c in zip(stage_stats(base, clocks), stage_stats(cand, clocks), strict=True):
        floor = limits.min_host_delta_s if b.clock == "host" else 0.0
        threshold = max(limits.relative * b.median, limits.spread_factor * b.mad, floor)
        judged = min(b.count, c.count) >= limits.min_cycles
        deltas.append(StageDelta(b.stage, b.clock, b, c, threshold, judged))
    return tuple(deltas)
