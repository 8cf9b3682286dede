"""Build once, flash many: NVIDIA's two-step initrd flash for several boards of one image.

``l4t_initrd_flash.sh --no-flash`` generates the flash images in the tree (offline when
``BOARDID``, ``FAB``, ``BOARDSKU`` and ``BOARDREV`` are given: no board is probed) and saves the
flash parameters; ``--flash-only --usb-instance <port>`` then flashes those images onto the board
on that port without building anything, so one build serves every board of that image on the host
(NVIDIA's ``tools/kernel_flash/README_initrd_flash.txt``, workflows 2 and 7). A ``--flash-only``
run without a saved build fails. flash.sh (eMMC) has no such split and keeps its one run.

The reuse key is the plan's image digest (what lands on the board: tree, conf, EEPROM identity,
argv without ``--usb-instance``); without a plan, a hash of the argv without the port and the
identity. The same key in the same tree means the same images.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace

from pytest_jetson.flash.tool import INITRD_FLASH, FlowChoice

IDENTITY = ("BOARDID", "FAB", "BOARDSKU", "BOARDREV")
"""The variables an offline ``--no-flash`` build needs, all of them."""


@dataclass(frozen=True)
class TwoSteps:
    """The build (``--no-flash``, offline) and the flash (``--flash-only --usb-instance``)."""

    build: FlowChoice
    flash: FlowChoice
    key: str
    """What the build depends on (argv without the port, identity), hashed."""


def two_steps(
    choice: FlowChoice, identity: Mapping[str, str], *, image_digest: str | None = None
) -> TwoSteps | None:
    """Split an initrd flash into build and flash; None when it cannot be split (flash.sh, no
    ``--usb-instance`` known, or an identity without all of :data:`IDENTITY`)."""
    if choice.tool != INITRD_FLASH or "--usb-instance" not in choice.argv:
        return None
    if not all(identity.get(name) for name in IDENTITY):
        return None
    at = choice.argv.index("--usb-instance")
    port = choice.argv[at + 1]
    words = (*choice.argv[:at], *choice.argv[at + 2 :])
    env = tuple({**dict(choice.env), **{name: identity[name] for name in IDENTITY}}.items())
    build = replace(choice, argv=(words[0], "--no-flash", *words[1:]), env=env)
    flash = replace(
        choice, argv=(words[0], "--flash-only", "--usb-instance", port, *words[1:]), env=()
    )
    key = image_digest or hashlib.sha256(json.dumps([words, env]).encode()).hexdigest()[:16]
    return TwoSteps(build=build, flash=flash, key=key)


def full_identity(eeprom: Mapping[str, str], fallback: Mapping[str, str]) -> dict[str, str]:
    """The offline build identity: the EEPROM's values where non-empty, else the profile's."""
    return {name: eeprom.get(name) or fallback.get(name, "") for name in IDENTITY}


__all__ = ["IDENTITY", "TwoSteps", "full_identity", "two_steps"]
