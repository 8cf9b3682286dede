"""Splitting an initrd flash into NVIDIA's --no-flash build and --flash-only flash."""

from __future__ import annotations

from pytest_jetson.flash.buildonce import full_identity, two_steps
from pytest_jetson.flash.tool import FlowChoice

IDENTITY = {"BOARDID": "3834", "FAB": "100", "BOARDSKU": "0008", "BOARDREV": "A.0"}
TOOL = "./tools/kernel_flash/l4t_initrd_flash.sh"


def _initrd(port: str) -> FlowChoice:
    argv = (TOOL, "--external-device", "nvme0n1p1", "--usb-instance", port, "--showlogs")
    return FlowChoice("l4t_initrd_flash.sh", TOOL[2:], (*argv, "board", "external"), "external")


def test_build_has_no_port_and_the_identity_flash_only_has_the_port() -> None:
    steps = two_steps(_initrd("1-4"), IDENTITY)
    assert steps is not None
    assert steps.build.argv[:2] == (TOOL, "--no-flash")
    assert "--usb-instance" not in steps.build.argv
    assert dict(steps.build.env) == IDENTITY
    assert steps.flash.argv[:4] == (TOOL, "--flash-only", "--usb-instance", "1-4")
    assert steps.flash.env == ()


def test_the_key_ignores_the_port_but_not_the_identity() -> None:
    a, b = two_steps(_initrd("1-4"), IDENTITY), two_steps(_initrd("1-5"), IDENTITY)
    other = two_steps(_initrd("1-4"), {**IDENTITY, "FAB": "300"})
    assert a is not None and b is not None and other is not None
    assert a.key == b.key != other.key


def test_no_split_for_flash_sh_an_unknown_port_or_a_partial_identity() -> None:
    flash_sh = FlowChoice(
        "flash.sh", "flash.sh", ("./flash.sh", "--usb-instance", "1-4", "b", "i"), "i"
    )
    assert two_steps(flash_sh, IDENTITY) is None
    no_port = FlowChoice("l4t_initrd_flash.sh", TOOL[2:], (TOOL, "board", "external"), "external")
    assert two_steps(no_port, IDENTITY) is None
    assert two_steps(_initrd("1-4"), {**IDENTITY, "BOARDREV": ""}) is None


def test_the_identity_is_the_eeprom_where_it_has_a_value_else_the_profile() -> None:
    eeprom = {"BOARDID": "3834", "FAB": "", "BOARDSKU": "", "BOARDREV": "A.0"}
    assert full_identity(eeprom, {"FAB": "100", "BOARDSKU": "0008"}) == IDENTITY


def test_the_key_is_the_plans_image_digest_when_there_is_one() -> None:
    steps = two_steps(_initrd("1-4"), IDENTITY, image_digest="0123456789abcdef")
    assert steps is not None and steps.key == "0123456789abcdef"
