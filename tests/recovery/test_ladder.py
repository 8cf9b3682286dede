"""The ladder without a bench: the climb's record when no rung can act."""

from __future__ import annotations

from pytest_jetson.recovery.ladder import climb


def test_without_boardctl_every_rung_is_skipped_and_nothing_is_healed() -> None:
    probed: list[float] = []
    result = climb("console silent", ("reset", "power_cycle"), None, probed.append, deadline=5)
    assert not result.healed and probed == []
    assert [(r.rung, r.detail) for r in result.rungs] == [
        ("reset", "skipped: needs boardctl"),
        ("power_cycle", "skipped: needs boardctl"),
    ]
    assert result.describe().startswith("console silent → reset: failed (skipped")


def test_an_empty_ladder_heals_nothing() -> None:
    result = climb("console silent", (), None, lambda deadline: None, deadline=5)
    assert not result.healed and result.describe() == "console silent → no rung available"
