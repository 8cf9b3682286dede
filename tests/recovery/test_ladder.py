"""The ladder without a bench: the climb's record when rungs cannot act, fail or heal."""

from __future__ import annotations

from pytest_jetson.errors import BenchError
from pytest_jetson.recovery.ladder import RUNGS, Rung, bench_rungs, climb


def _never() -> None:
    raise AssertionError("a skipped rung must not act")


def test_without_boardctl_every_rung_is_skipped_and_nothing_is_healed() -> None:
    probed: list[str] = []
    rungs = bench_rungs(RUNGS, None, wait_rcm=_never, reflash=_never)
    result = climb("console silent", rungs, lambda: probed.append("probe"))
    assert not result.healed and probed == []
    assert [(r.rung, r.outcome, r.detail) for r in result.rungs] == [
        (name, "skipped", "needs boardctl") for name in RUNGS
    ]
    assert result.describe().startswith("console silent → reset: skipped (needs boardctl)")
    assert result.as_dict()["failure_class"] == "infra" and result.healed_by is None


def test_an_empty_ladder_heals_nothing() -> None:
    result = climb("console silent", (), lambda: None)
    assert not result.healed and result.describe() == "console silent → no rung available"


def test_the_first_rung_after_which_the_probe_passes_ends_the_climb() -> None:
    acted: list[str] = []
    answers = iter([BenchError("console silent"), None])

    def probe() -> None:
        error = next(answers)
        if error is not None:
            raise error

    rungs = [
        Rung("reset", lambda: acted.append("reset")),
        Rung("reflash", None, "no known_good image in the bench inventory"),
        Rung("power_cycle", lambda: acted.append("power_cycle")),
        Rung("recovery_reentry", lambda: acted.append("recovery_reentry")),
    ]
    prepared: list[int] = []
    result = climb("console silent", rungs, probe, prepare=lambda: prepared.append(1))
    assert acted == ["reset", "power_cycle"] and len(prepared) == 2
    assert [(r.rung, r.outcome) for r in result.rungs] == [
        ("reset", "failed"),
        ("reflash", "skipped"),
        ("power_cycle", "healed"),
    ]
    assert result.healed and result.healed_by == "power_cycle"
    assert "reset: failed (console silent)" in result.describe()


def test_a_rung_that_cannot_act_fails_with_its_error() -> None:
    def boardctl_fails() -> None:
        raise BenchError("boardctl -t topo reset failed with exit 1\nmore")

    result = climb("boardctl failed", [Rung("reset", boardctl_fails)], lambda: None)
    (rung,) = result.rungs
    assert (rung.outcome, rung.detail) == ("failed", "boardctl -t topo reset failed with exit 1")


def test_a_known_good_that_is_missing_skips_only_the_reflash() -> None:
    from pathlib import Path

    from pytest_jetson.drivers.boardctl import Boardctl
    from pytest_jetson.drivers.side import LocalSide

    boardctl = Boardctl(LocalSide(Path("/nonexistent")), "topo")
    rungs = bench_rungs(RUNGS, boardctl, wait_rcm=_never, reflash="no known_good image")
    assert [(r.name, r.act is None, r.skip) for r in rungs] == [
        ("reset", False, ""),
        ("power_cycle", False, ""),
        ("recovery_reentry", False, ""),
        ("reflash", True, "no known_good image"),
    ]
