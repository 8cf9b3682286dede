"""The recovery ladder: rungs that try to bring back a DUT the bench cannot reach.

It is climbed only for *bench* symptoms (a console silent with no boot output, boardctl
failing, the DUT missing from RCM): the board may just be wedged, and a reset or a power cycle
is what a person walking over would do first. A product failure (a panic, a stage that stops,
no login after the kernel) is a :class:`~pytest_jetson.errors.DutError` and never climbs it.

Each rung acts (through the DUT's boardctl), then runs the probe with the rung's deadline; the
first rung whose probe passes ends the climb. Every rung tried is kept with its result and time.
A ``recovery: manual`` DUT has no boardctl, so every rung that needs it is recorded as skipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from pytest_jetson.bench import LADDER_RUNGS
from pytest_jetson.drivers.boardctl import Boardctl
from pytest_jetson.errors import JetsonError

RUNGS: tuple[str, ...] = LADDER_RUNGS
"""Every rung, in climbing order: ``reset`` (boardctl reset), ``power_cycle`` (boardctl
power_off then power_on)."""

Probe = Callable[[float], None]
"""Checks the DUT answers again within the deadline (seconds); raises when it does not."""


@dataclass(frozen=True)
class RungResult:
    """One rung tried: its name, whether the DUT answered after it, what happened, how long."""

    rung: str
    healed: bool
    detail: str
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        """The summary JSON form."""
        return asdict(self)

    def describe(self) -> str:
        """``reset: healed (3.1s)`` or ``reset: failed (…)``."""
        state = "healed" if self.healed else f"failed ({self.detail})"
        return f"{self.rung}: {state} in {self.seconds:.1f}s"


@dataclass(frozen=True)
class Climb:
    """The rungs tried for one symptom, and whether one brought the DUT back."""

    symptom: str
    rungs: tuple[RungResult, ...]

    @property
    def healed(self) -> bool:
        """Whether the last rung tried brought the DUT back."""
        return bool(self.rungs) and self.rungs[-1].healed

    def describe(self) -> str:
        """One line: the symptom and every rung tried."""
        tried = "; ".join(r.describe() for r in self.rungs) or "no rung available"
        return f"{self.symptom} → {tried}"


def _act(boardctl: Boardctl, rung: str) -> None:
    if rung == "reset":
        boardctl.reset()
    elif rung == "power_cycle":
        boardctl.power_off()
        boardctl.power_on()
    else:  # the inventory loader refuses unknown rungs
        raise ValueError(f"unknown rung {rung!r}")


def climb(
    symptom: str,
    rungs: Sequence[str],
    boardctl: Boardctl | None,
    probe: Probe,
    *,
    deadline: float,
    prepare: Callable[[], None] = lambda: None,
) -> Climb:
    """Try ``rungs`` in order until ``probe`` passes after one; each rung has ``deadline``
    seconds for the DUT to answer; ``prepare`` runs before each rung acts (the console's old
    output is dropped, so only what follows the rung counts). Without boardctl no rung can act
    (each is recorded as skipped)."""
    results: list[RungResult] = []
    for rung in rungs:
        start = time.monotonic()
        if boardctl is None:
            results.append(RungResult(rung, False, "skipped: needs boardctl", 0.0))
            continue
        try:
            prepare()
            _act(boardctl, rung)
            probe(deadline)
        except JetsonError as exc:
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            results.append(RungResult(rung, False, detail, time.monotonic() - start))
            continue
        results.append(RungResult(rung, True, "the DUT answers", time.monotonic() - start))
        break
    return Climb(symptom, tuple(results))
