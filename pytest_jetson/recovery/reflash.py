"""The ``reflash`` rung and the requalification health check: the DUT's known-good image
through the same flash flow as any image (preflights, plan, recovery, flash, post-flash reset),
then boot validation (every boot stage, the login, the release check).

The known-good image is the inventory's ``known_good`` (a profile, or a tree with the DUT's
own platform data), never the image under test: a board that comes back only on the image
being tested proves nothing about it, and a known-good image that fails to boot says the
board, not the candidate, is at fault.
"""

from __future__ import annotations

from pathlib import Path

from pytest_jetson.errors import BenchError, DutError
from pytest_jetson.flash.procedure import BOOT_STAGES, PREFLIGHT_STEPS, FlashFlow


def flash_known_good(flow: FlashFlow) -> str:
    """Run ``flow`` (a flow of the known-good image) from the preflights to the release check;
    one line saying what was flashed. Raises what the failing step raised; a preflight that
    did not pass raises :class:`BenchError` (unavailable) or :class:`DutError` (a defect)."""
    for name in PREFLIGHT_STEPS:
        outcome = flow.preflight(name)
        if not outcome.passed:
            error = BenchError if outcome.status == "unavailable" else DutError
            raise error(f"known-good image: {str(outcome).splitlines()[0]}")
    plan = flow.plan()
    outcome = flow.recovery()
    if not outcome.passed:
        raise BenchError(f"known-good image: {str(outcome).splitlines()[0]}")
    flow.flash()
    flow.post_flash_reset()
    for stage in BOOT_STAGES:
        flow.boot_stage(stage)
    found = flow.release()
    flow.close()
    return f"flashed and booted {found or plan.version} from {plan.lft}"


def under_test(known_good: Path, candidate: Path | None) -> str | None:
    """Why the known-good tree cannot be reflashed: it is the tree of the image under test
    (``candidate``, when the session flashes one), else None."""
    if candidate is not None and known_good.resolve() == candidate.resolve():
        return f"the known-good image {known_good} is the image under test"
    return None
