"""Every simulator fault on every simulated board: the step that fails and its failure class
(infra: the bench, reported as an error; product: the image, reported as a failure) against one
table, so a bench failure can never block a promotion and a bad image can never pass as a
flaky bench (issue 15).

42 flows are too many for the everyday suite on two cores: the matrix carries the
``fault_matrix`` marker, which the suite deselects by default (``addopts``); CI runs it as its own
step (``pytest -m fault_matrix``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pytest_jetson.sim.faults import FAULTS

BOARDS = ("sim-orin", "sim-orin-nano", "sim-thor")
FAST = ("--jetson-sim-speed=50",)

# fault -> (failed step or None for a run that boots, failure class, extra options)
EXPECTED: dict[str, tuple[str | None, str | None, tuple[str, ...]]] = {
    "no_rcm": ("preflight-rcm", "infra", ("--jetson-deadline=rcm=1",)),
    # the ladder climbs for both; a hung boardctl hangs on every rung too
    "boardctl_hang": ("preflight-rcm", "infra", ("--jetson-deadline=boardctl=1",)),
    # the reset rung's boardctl works again and the RCM check passes: the flash goes on
    "topo_glitch": (None, None, ()),
    "eeprom_sku_mismatch": ("preflight-eeprom", "product", ()),
    "eeprom_empty": (None, None, ()),
    "image_drift": ("preflight-bsp_image", "product", ()),
    "flash_fail": ("flash", "product", ()),
    "usb_drop_mid_flash": ("flash", "infra", ()),
    "flash_hang": ("flash", "infra", ("--jetson-deadline=flash=1",)),
    "kernel_panic": ("kernel", "product", ()),
    "boot_hang": ("kernel", "product", ("--jetson-deadline=boot=1.2",)),
    "oem_wizard": ("login", "product", ()),
    # the port comes back after a real-time pause the console waits for: not at speed 50
    "serial_unplug": (None, None, ("--jetson-sim-speed=8",)),
    "slow_boot": (None, None, ()),
    # banners lost in the combined UART are not_observed; only login and bad patterns decide
    "tcu_garble": (None, None, ()),
    # a wedged board found by the recovery ladder's tests: the flash's recovery and reset wake it
    "console_silent": (None, None, ()),
    "hang_until_power_cycle": (None, None, ()),
    # a corrupt boot chain: the candidate's flash rewrites it
    "needs_reflash": (None, None, ()),
    # after a flash, a boot with no output at all is the bench's (console or board dead): the
    # ladder climbs (reset, power cycle, recovery re-entry; no known-good image to reflash)
    "never_recovers": (
        "mb1",
        "infra",
        ("--jetson-deadline=boot=1.2", "--jetson-deadline=recovery=0.5"),
    ),
    # the gate's faults: a slower kernel still boots; every boot flaky (rate 1) panics
    "slow_stage": (None, None, ()),
    "flaky_boot": ("kernel", "product", ()),
}
"""The outcome of each fault, the same on every board."""

VALUES = {"slow_stage": "slow_stage=kernel:800ms", "flaky_boot": "flaky_boot=1"}
"""How a fault that takes a value is given in the matrix."""

BOARD_SPECIFIC: dict[tuple[str, str], tuple[str | None, str | None, tuple[str, ...]]] = {
    # flash.sh on AGX Orin's eMMC needs no initrd; the initrd flow (Nano NVMe, Thor) does.
    ("missing_initrd", "sim-orin"): (None, None, ()),
    ("missing_initrd", "sim-orin-nano"): ("preflight-bsp_image", "product", ()),
    ("missing_initrd", "sim-thor"): ("preflight-bsp_image", "product", ()),
}


def _expected(fault: str, board: str) -> tuple[str | None, str | None, tuple[str, ...]]:
    return BOARD_SPECIFIC.get((fault, board)) or EXPECTED[fault]


def test_the_table_covers_every_fault() -> None:
    covered = set(EXPECTED) | {fault for fault, _ in BOARD_SPECIFIC}
    assert covered == set(FAULTS), "add the new fault's outcome to EXPECTED"


@pytest.mark.fault_matrix
@pytest.mark.parametrize("board", BOARDS)
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_on_board(flow_run: Callable[..., Any], fault: str, board: str) -> None:
    if fault not in EXPECTED and (fault, board) not in BOARD_SPECIFIC:
        pytest.fail(f"fault {fault} has no expected outcome in the table")
    step, failure_class, options = _expected(fault, board)
    run = flow_run(board, f"--jetson-sim-fault={VALUES.get(fault, fault)}", *FAST, *options)
    assert "Traceback" not in run.text and "INTERNALERROR" not in run.text, run.text
    outcomes = run.result.parseoutcomes()
    if step is None:
        assert run.result.ret == 0, run.text
        assert run.summary["outcome"] == "booted", run.summary
        return
    assert run.outcome_of(step) == "failed", (step, run.text)
    assert f'name="failure_class" value="{failure_class}"' in run.junit.read_text()
    node = run.failure_node(step)
    assert node.tag == ("error" if failure_class == "infra" else "failure"), node.tag
    failed = outcomes.get("failed", 0) + outcomes.get("errors", outcomes.get("error", 0))
    assert failed == 1, outcomes  # one failure; everything after it skips naming it
    assert run.summary["outcome"] in ("failed", "timeout"), run.summary
    assert run.result.ret != 0
