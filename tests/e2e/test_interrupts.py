"""Ctrl-C and SIGTERM wherever they land: the summary says ``interrupted`` with the step it
landed in, no process is left, the DUT's lock is free (issue 15 items 5 and the seeded
random-interrupt check)."""

from __future__ import annotations

import json
import random
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_jetson.flash.procedure import STEPS
from pytest_jetson.host.lock import DutLock
from tests.helpers import Session, consoles_of, processes_under, wait_for, write_bench

HOLD = """
import time
from pathlib import Path


def test_on_the_board(jetson_shell):
    deadline = time.monotonic() + 60
    while not Path("never").exists():
        assert time.monotonic() < deadline
        time.sleep(0.02)
"""

EXIT = {signal.SIGINT: pytest.ExitCode.INTERRUPTED, signal.SIGTERM: -signal.SIGTERM}


def summary_of(artifacts: Path) -> dict[str, Any]:
    path = artifacts / "pair-a" / "summary.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data


def steps_of(artifacts: Path) -> dict[str, str]:
    return {s["step"]: s["outcome"] for s in summary_of(artifacts).get("steps", [])}


def sim_root(session: Session) -> str:
    [argv] = consoles_of(session.pid).values()
    return argv[-2].split("/sim-host/", 1)[0]


def check_clean_end(pytester: pytest.Pytester, session: Session, root: str) -> None:
    """No process of the session's bench is left and pair-a's lock is free."""
    assert processes_under(root) == [] and not consoles_of(session.pid)
    assert not Path(root).exists()
    assert not (pytester.path / "hil" / "locks" / "pair-a.holder.json").exists()
    lock = DutLock("pair-a", pytester.path / "hil" / "locks")
    lock.acquire(0)  # free: one attempt succeeds
    lock.release()


@pytest.fixture
def flash_session(
    pytester: pytest.Pytester, start_session: Callable[..., Session]
) -> Callable[..., tuple[Session, Path]]:
    """``flash_session(*options)``: a real session flashing inventory DUT pair-a (locked)."""
    write_bench(pytester)
    pytester.makepyfile(test_hil=HOLD)

    def start(*options: str) -> tuple[Session, Path]:
        artifacts = pytester.path / "artifacts"
        session = start_session(
            "--dut=pair-a",
            "--jetson-flash",
            "--jetson-sim-speed=20",
            f"--jetson-artifacts={artifacts}",
            *options,
            "--jetson-accept-plan",
            "test_hil.py",
        )
        return session, artifacts

    return start


IN_STEP = """
import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    if getattr(item, "step", None) == {step!r}:
        with open("in-step", "w") as out:
            out.write(item.step)
    return (yield)
"""


@pytest.mark.parametrize(
    ("fault", "step", "sig"),
    [
        pytest.param("boardctl_hang", "preflight-rcm", signal.SIGINT, id="ctrl-c-in-preflight"),
        pytest.param("boot_hang", "kernel", signal.SIGTERM, id="sigterm-in-a-boot-stage"),
    ],
)
def test_an_interrupt_outside_the_flash_is_recorded_as_interrupted(
    pytester: pytest.Pytester,
    flash_session: Callable[..., tuple[Session, Path]],
    fault: str,
    step: str,
    sig: signal.Signals,
) -> None:
    pytester.makeconftest(IN_STEP.format(step=step))
    session, artifacts = flash_session(f"--jetson-sim-fault={fault}")
    # The step's call has begun (it hangs there, by the fault): the signal lands in it, not
    # between the previous step and this one.
    in_step = pytester.path / "in-step"
    wait_for(in_step.exists, 60, f"step {step} running", proc=session)
    root = sim_root(session)
    if fault == "boardctl_hang":  # deep in the step: its hung boardctl is running
        hung = lambda: any("boardctl" in p for p in processes_under(root))  # noqa: E731
        wait_for(hung, 60, f"the hung boardctl of step {step}", proc=session)

    session.signal(sig)

    assert session.wait(60) == EXIT[sig], session.text()
    data = summary_of(artifacts)
    assert data["outcome"] == "interrupted", data
    assert steps_of(artifacts)[step] == "interrupted", data["steps"]
    assert "failed" not in steps_of(artifacts).values(), data["steps"]
    assert data["message"].startswith(f"interrupted during step '{step}': "), data["message"]
    check_clean_end(pytester, session, root)


# The session interrupts itself at a seeded moment of a seeded step: a timer started when the
# step's call begins sends the signal; a step that ends first gets it at its end.
INTERRUPTER = """
import os
import signal
import threading

import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    if getattr(item, "step", None) != {step!r}:
        return (yield)
    from pytest_jetson.plugin.session import get_session

    with open("workdir", "w") as out:
        out.write(str(get_session(item.config).workdir))
    fired = threading.Event()

    def fire():
        if not fired.is_set():
            fired.set()
            os.kill(os.getpid(), {sig})

    timer = threading.Timer({delay}, fire)
    timer.start()
    try:
        return (yield)
    finally:
        timer.cancel()
        fire()
"""


@pytest.mark.parametrize("seed", [4, 6])  # a preflight (SIGTERM), the login (Ctrl-C)
def test_an_interrupt_at_a_random_moment_ends_interrupted_and_clean(
    pytester: pytest.Pytester, flash_session: Callable[..., tuple[Session, Path]], seed: int
) -> None:
    rng = random.Random(seed)
    step = rng.choice(STEPS[:-1])  # the release step ends the flow: later, nothing is left
    sig = rng.choice([signal.SIGINT, signal.SIGTERM])
    delay = round(rng.uniform(0.0, 0.5), 3)
    pytester.makeconftest(INTERRUPTER.format(step=step, sig=int(sig), delay=delay))
    session, artifacts = flash_session()

    status = session.wait(90)
    root = (pytester.path / "workdir").read_text()

    context = f"seed {seed}: {sig.name} {delay} s into step {step}\n{session.text()}"
    assert status == EXIT[sig], context
    data = summary_of(artifacts)
    assert data["outcome"] == "interrupted", context
    steps = steps_of(artifacts)
    assert "failed" not in steps.values(), (steps, context)
    assert list(steps.values()).count("interrupted") <= 1, (steps, context)
    if "interrupted" in steps.values():
        assert data["message"].startswith("interrupted during step"), context
    else:  # it landed after its step ended, before the next began
        assert step in steps and data["message"].startswith("interrupted after step"), context
    assert "Traceback" not in session.text(), context
    check_clean_end(pytester, session, root)


def test_sigterm_to_an_xdist_controller_reaches_the_workers_at_once(
    pytester: pytest.Pytester, start_session: Callable[..., Session]
) -> None:
    """``-n 2``: a CI runner cancels the job with SIGTERM to pytest (the controller). Both
    workers are flashing a flow tool that hangs; they are interrupted at once (their flash is
    ``interrupted``, not left to run into its deadline) and the session ends of the signal."""
    write_bench(pytester)
    pytester.makepyfile(test_hil=HOLD)
    artifacts = pytester.path / "artifacts"
    session = start_session(
        "-n",
        "2",
        "--dut=pair-a,pair-b",
        "--jetson-flash",
        "--jetson-sim-speed=20",
        "--jetson-sim-fault=flash_hang",
        "--jetson-deadline=flash=600",
        f"--jetson-artifacts={artifacts}",
        "--jetson-accept-plan",
        "test_hil.py",
    )
    logs = [artifacts / dut / "flash.log" for dut in ("pair-a", "pair-b")]

    def both_flashing() -> bool:
        return all(log.is_file() and "Sending" in log.read_text() for log in logs)

    wait_for(both_flashing, 90, "both workers flashing", proc=session)

    session.signal(signal.SIGTERM)

    assert session.wait(60) == -signal.SIGTERM, session.text()
    for dut in ("pair-a", "pair-b"):
        data = json.loads((artifacts / dut / "summary.json").read_text())
        assert data["outcome"] == "interrupted", (dut, data)
        flash = next(s for s in data["steps"] if s["step"] == "flash")
        assert flash["outcome"] == "interrupted", (dut, flash)
    assert not (pytester.path / "hil" / "locks" / "pair-a.holder.json").exists()
    assert not (pytester.path / "hil" / "locks" / "pair-b.holder.json").exists()
