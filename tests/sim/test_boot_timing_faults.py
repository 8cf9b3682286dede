"""The simulated boot's timers and the timing faults: ``slow_stage`` and ``flaky_boot``."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pytest_jetson.cycles.timers import timer
from pytest_jetson.errors import UsageError
from pytest_jetson.sim.boards import board_by_key
from pytest_jetson.sim.bootlog import boot_script
from pytest_jetson.sim.faults import check_faults
from pytest_jetson.sim.host import initial_state
from pytest_jetson.sim.state import DutState


def state(*faults: str, board: str = "orin-agx", boot: int = 1, speed: float = 1.0) -> DutState:
    sim = board_by_key(board)
    made = initial_state("sim", sim, sim.releases[-1], "1-4", Path("/nonexistent"), faults=faults)
    return dataclasses.replace(made, boot_seq=boot, speed=speed)


def lines(dut: DutState) -> list[str]:
    return [e.text for e in boot_script(dut) if e.kind == "line"]


def kernel_span(dut: DutState) -> float:
    """Kernel timer at the hand-over to userspace (systemd's first line)."""
    handover = next(line for line in lines(dut) if "systemd[1]" in line)
    found = timer(handover)
    assert found is not None and found[0] == "kernel"
    return found[1]


def test_timers_repeat_in_every_run_and_ignore_the_speed_factor() -> None:
    assert lines(state()) == lines(state(speed=16))
    assert lines(state(boot=2)) != lines(state(boot=1))  # seeded jitter per boot


def test_slow_stage_adds_exactly_its_duration_to_the_kernel_timer() -> None:
    assert kernel_span(state("slow_stage=kernel:800ms")) == pytest.approx(
        kernel_span(state()) + 0.8, abs=1e-5
    )


def test_orin_mb2_lines_carry_no_timer_thor_mb2_lines_do() -> None:
    orin = next(line for line in lines(state()) if "MB2 (version" in line)
    thor = next(line for line in lines(state(board="thor-agx")) if "MB2 (version" in line)
    assert timer(orin) is None and timer(thor) is not None
    assert timer(lines(state())[0]) is not None  # MB1's boot clock


def test_flaky_boot_fails_the_same_boots_for_the_same_seed() -> None:
    def panics(fault: str) -> list[int]:
        return [
            n for n in range(1, 21) if any("Kernel panic" in t for t in lines(state(fault, boot=n)))
        ]

    first = panics("flaky_boot=0.2")
    assert first == panics("flaky_boot=0.2") and 0 < len(first) < 20
    assert panics("flaky_boot=0.2@5") != first
    assert panics("flaky_boot=0") == [] and len(panics("flaky_boot=1")) == 20


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        pytest.param("slow_stage=warp:1s", "stage 'warp' is not one of", id="stage"),
        pytest.param("slow_stage=kernel:fast", "expected slow_stage=STAGE:DURATION", id="dur"),
        pytest.param("flaky_boot=2", "rate 2 is not between 0 and 1", id="rate"),
        pytest.param("flaky_boot", "'flaky_boot' needs a value", id="bare"),
        pytest.param("kernel_panic=1", "'kernel_panic' takes no value", id="extra"),
    ],
)
def test_bad_fault_values_are_usage_errors(fault: str, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        check_faults([fault])
