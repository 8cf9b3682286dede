"""The recovery ladder: rungs that try to bring back a DUT the bench cannot reach.

It is climbed only for *bench* symptoms (a console silent with no boot output, boardctl
failing, the DUT missing from RCM): the board may just be wedged, and a reset, a power cycle,
a trip through recovery or a reflash of a known-good image is what a person walking over would
do, in that order. A product failure (a panic, a stage that stops, no login after the kernel)
is a :class:`~pytest_jetson.errors.DutError` and never climbs it.

Each rung acts, then the probe checks the DUT answers; the first rung whose probe passes ends
the climb. Every rung tried is kept with its result and time. A rung that cannot act here (no
boardctl on a ``recovery: manual`` bench, no known-good image) is recorded as skipped. Each
wait of a rung has its deadline: boardctl calls the ``boardctl`` one, the RCM device the
``rcm`` one, the reflash the ``flash`` one, and the probe its own (the first console byte
within ``recovery``, the login within ``boot``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from pytest_jetson.bench import LADDER_RUNGS
from pytest_jetson.drivers.boardctl import Boardctl
from pytest_jetson.errors import JetsonError

RUNGS: tuple[str, ...] = LADDER_RUNGS
"""Every rung, in climbing order: ``reset`` (boardctl reset), ``power_cycle`` (boardctl
power_off then power_on), ``recovery_reentry`` (boardctl recovery, the DUT seen in RCM, then
boardctl reset boots it normally), ``reflash`` (the DUT's known-good image through the flash
flow, its boot validated)."""

Probe = Callable[[], None]
"""Checks the DUT answers again (each of its waits with its own deadline); raises when not."""
Action = Callable[[], None]
"""What a rung does to the DUT; raises a :class:`JetsonError` when it cannot."""


@dataclass(frozen=True)
class Rung:
    """A rung ready to climb: ``act`` tries to bring the DUT back; None when it cannot act on
    this bench, ``skip`` saying why."""

    name: str
    act: Action | None
    skip: str = ""


@dataclass(frozen=True)
class RungResult:
    """One rung tried: its name, what came of it, what happened, how long it took."""

    rung: str
    healed: bool
    detail: str
    seconds: float
    outcome: Literal["healed", "failed", "skipped"] = "failed"

    def as_dict(self) -> dict[str, Any]:
        """The summary JSON form."""
        return asdict(self)

    def describe(self) -> str:
        """``reset: healed in 3.1s``, ``reset: failed (…) in 0.4s`` or ``reflash: skipped (…)``."""
        if self.outcome == "skipped":
            return f"{self.rung}: skipped ({self.detail})"
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

    @property
    def healed_by(self) -> str | None:
        """The rung that brought the DUT back, or None."""
        return self.rungs[-1].rung if self.healed else None

    def describe(self) -> str:
        """One line: the symptom and every rung tried."""
        tried = "; ".join(r.describe() for r in self.rungs) or "no rung available"
        return f"{self.symptom} → {tried}"

    def as_dict(self) -> dict[str, Any]:
        """The summary JSON form: the symptom (always the bench's), the rungs, the outcome."""
        return {
            "symptom": self.symptom,
            "failure_class": "infra",
            "healed": self.healed,
            "healed_by": self.healed_by,
            "rungs": [r.as_dict() for r in self.rungs],
        }


def bench_rungs(
    names: Sequence[str],
    boardctl: Boardctl | None,
    *,
    wait_rcm: Action,
    reflash: Action | str,
) -> tuple[Rung, ...]:
    """The rungs ``names`` of a DUT: boardctl drives the first three (None: each is skipped,
    as on a ``recovery: manual`` bench); ``wait_rcm`` raises unless the DUT shows in RCM
    within its deadline; ``reflash`` flashes the known-good image and validates its boot, or
    says why there is none to flash. The reflash enters recovery through boardctl too."""
    rungs = []
    for name in names:
        if boardctl is None:
            rungs.append(Rung(name, None, "needs boardctl"))
        elif name == "reflash" and isinstance(reflash, str):
            rungs.append(Rung(name, None, reflash))
        else:
            rungs.append(Rung(name, _action(name, boardctl, wait_rcm, reflash)))
    return tuple(rungs)


def _action(name: str, boardctl: Boardctl, wait_rcm: Action, reflash: Action | str) -> Action:
    def reset() -> None:
        boardctl.reset()

    def power_cycle() -> None:
        boardctl.power_off()
        boardctl.power_on()

    def recovery_reentry() -> None:
        boardctl.recovery()
        wait_rcm()
        boardctl.reset()  # out of recovery: a normal boot of what the boot media holds

    actions: dict[str, Action] = {
        "reset": reset,
        "power_cycle": power_cycle,
        "recovery_reentry": recovery_reentry,
    }
    if not isinstance(reflash, str):
        actions["reflash"] = reflash
    if name not in actions:  # the inventory loader refuses unknown rungs
        raise ValueError(f"unknown rung {name!r}")
    return actions[name]


def climb(
    symptom: str,
    rungs: Sequence[Rung],
    probe: Probe,
    *,
    prepare: Callable[[], None] = lambda: None,
) -> Climb:
    """Try ``rungs`` in order until ``probe`` passes after one; ``prepare`` runs before each
    rung acts (the boot is counted from there, so only what follows the rung counts)."""
    results: list[RungResult] = []
    for rung in rungs:
        if rung.act is None:
            results.append(RungResult(rung.name, False, rung.skip, 0.0, "skipped"))
            continue
        start = time.monotonic()
        try:
            prepare()
            rung.act()
            probe()
        except JetsonError as exc:
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            results.append(RungResult(rung.name, False, detail, time.monotonic() - start))
            continue
        seconds = time.monotonic() - start
        results.append(RungResult(rung.name, True, "the DUT answers", seconds, "healed"))
        break
    return Climb(symptom, tuple(results))
