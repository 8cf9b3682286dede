"""The flash plan: the resolution the operator accepts, with a stable digest.

The plan is what will be flashed, not the shell command: target, profile, image, conf, EEPROM
against the profile, boot device, flow tool, boardctl, RCM entry, post-flash action, default
user and the step deadlines. Its digest is a SHA-256 over a canonical JSON form in which paths
inside the image are relative and no secret appears, so the same image on the same bench always
gives the same digest and CI can pin it (``--jetson-accept-plan=<digest>``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

DIGEST_LENGTH = 16


@dataclass(frozen=True)
class Plan:
    """The resolved flash plan of one DUT."""

    dut: str
    target: str
    profile: str
    lft: str
    """The LFT path, relative to the profile's folder when it lies below a common root."""
    version: str
    flash_conf: str
    eeprom: Mapping[str, str]
    """``board_sku``, ``board_FAB`` (and other dispatch inputs) as read, ``""`` when empty."""
    profile_expect: Mapping[str, str]
    """``module.sku`` and ``module.revision`` from the profile, ``"(any)"`` when unset."""
    boot_device: str
    flow_tool: str
    argv: tuple[str, ...]
    """The flow tool's argv, relative to LFT (no secret can be in it)."""
    boardctl: str
    rcm_entry: str
    post_flash: str
    default_user: str
    deadlines: Mapping[str, float] = field(default_factory=dict)
    tool_env: Mapping[str, str] = field(default_factory=dict)
    """Board-identity variables the flow tool is given for EEPROM fields that are empty
    (``BOARDSKU``, ``FAB``, ...), from the profile; empty for a populated EEPROM."""
    bench_host: str = "local"
    """Where the image is flashed from: ``local``, or ``host:/path/Linux_for_Tegra`` of a
    remote bench. Shown, but not part of the digest: the same plan on any bench host."""

    def canonical(self) -> str:
        """The canonical JSON form the digest is computed over (without ``bench_host``)."""
        data = asdict(self)
        del data["bench_host"]
        if not data["tool_env"]:
            del data["tool_env"]  # a populated EEPROM: the digest of every plan before it
        return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)

    @property
    def digest(self) -> str:
        """A stable hex digest of the plan."""
        return hashlib.sha256(self.canonical().encode()).hexdigest()[:DIGEST_LENGTH]

    @property
    def command(self) -> tuple[str, ...]:
        """The flow tool's command as NVIDIA writes it: ``NAME=value`` words, then the argv."""
        from pytest_jetson.host.runner import assignments

        return (*assignments(self.tool_env), *self.argv)

    def render(self) -> str:
        """The plan as printed for the operator (the procedure's "Confirm resolution")."""
        eeprom = " ".join(f"{k}={v or '(empty)'}" for k, v in self.eeprom.items()) or "(not read)"
        expect = " ".join(f"{k}={v}" for k, v in self.profile_expect.items())
        deadlines = ", ".join(f"{k} {v:g}s" for k, v in self.deadlines.items())
        lines = [
            f"Flash plan for DUT {self.dut} (digest {self.digest})",
            f"  Target:       {self.target}",
            f"  Profile:      {self.profile}",
            f"  bsp_image:    {self.lft} (version {self.version})",
            f"  Flash conf:   {self.flash_conf}",
            f"  DUT EEPROM  → {eeprom}",
            f"  Profile     → {expect}",
            f"  Boot device:  {self.boot_device}",
            f"  Flow tool:    {self.flow_tool}",
            f"  Command:      {' '.join(self.command)}",
            f"  boardctl:     {self.boardctl}",
            f"  RCM entry:    {self.rcm_entry}",
            f"  Post-flash:   {self.post_flash}",
            f"  Default user: {self.default_user}",
            f"  Bench host:   {self.bench_host}",
        ]
        if deadlines:
            lines.append(f"  Deadlines:    {deadlines}")
        return "\n".join(lines)


def relative_to_profile(path: Path, profile_path: Path) -> str:
    """``path`` relative to the profile's folder (stable when both move together)."""
    try:
        return os.path.relpath(path, profile_path.parent)
    except ValueError:
        return str(path)


class Acceptance:
    """How ``--jetson-accept-plan`` was given: not at all, for any plan, or for one digest."""

    ANY = "*"

    def __init__(self, value: str | None) -> None:
        self.value = value

    @property
    def given(self) -> bool:
        """Whether the option was given at all."""
        return self.value is not None

    def accepts(self, plan: Plan) -> bool:
        """Whether this acceptance covers ``plan``."""
        if self.value is None:
            return False
        return self.value == self.ANY or self.value.lower() == plan.digest

    def refusal(self, plan: Plan) -> str:
        """Why ``plan`` is not accepted, with the plan and how to accept it."""
        if self.value is not None and self.value != self.ANY:
            head = (
                f"the plan's digest is {plan.digest}, but --jetson-accept-plan={self.value} "
                "was given: what would be flashed has changed"
            )
        else:
            head = "flashing needs explicit acceptance of the plan"
        return (
            f"{head}\n\n{plan.render()}\n\n"
            f"Accept this exact plan with --jetson-accept-plan={plan.digest} "
            "(or any plan with a bare --jetson-accept-plan)."
        )
