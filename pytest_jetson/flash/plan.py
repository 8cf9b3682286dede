"""The flash plan: the resolution the operator accepts, with two stable digests.

The plan is what will be flashed, not the shell command: target, profile, image, conf values
(as bash evaluated them), EEPROM against the profile, boot device, flow tool and its argv, A/B,
default user, then the bench wiring: boardctl, RCM entry, post-flash action, deadlines.

* The **image digest** covers what lands on the board: the tree (path relative to the profile,
  release), the conf and its evaluated values, the EEPROM identity, the flow tool's argv without
  bench-only words (``--usb-instance``), its ``NAME=value`` words, A/B and the default-user
  staging. Two benches flashing the same image get the same image digest; the promotion gate
  and "is a reflash needed" compare it.
* The **plan digest** is the image digest plus the bench wiring (DUT, profile file, argv with
  the RCM port, boardctl, RCM entry, post-flash action, deadlines). ``--jetson-accept-plan=``
  pins it.

Both are SHA-256 over canonical JSON in which paths inside the image are relative and no secret
appears, so the same plan always gives the same digest and CI can pin it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pytest_jetson.errors import excerpt

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
    conf: Mapping[str, str] = field(default_factory=dict)
    """The conf values the plan consumed, as bash evaluated them for this board."""
    rootfs_ab: bool = False
    """Two root file systems (the profile's ``rootfs_ab``): the tool gets ``ROOTFS_AB=1``."""
    eeprom_source: str = "read from the DUT"
    """Where ``eeprom`` came from (shown, not digested): read from the DUT, given on the
    command line, or the profile's values when nothing was read."""
    boot_cycles: str = ""
    """``N x <how each cycle reboots>`` when boot cycles follow the flash (empty: none). Part
    of the plan digest (the bench wiring) only when set, so plans without cycles keep theirs."""

    def image_fields(self) -> dict[str, object]:
        """What lands on the board: the fields the image digest covers."""
        return {
            "target": self.target,
            "lft": self.lft,
            "version": self.version,
            "flash_conf": self.flash_conf,
            "conf": dict(self.conf),
            "eeprom": dict(self.eeprom),
            "boot_device": self.boot_device,
            "flow_tool": self.flow_tool,
            "argv": list(image_argv(self.argv)),
            "tool_env": dict(self.tool_env),
            "rootfs_ab": self.rootfs_ab,
            "default_user": self.default_user,
        }

    @property
    def image_digest(self) -> str:
        """A stable hex digest of what lands on the board (no bench wiring)."""
        return _digest(self.image_fields())

    def canonical(self) -> str:
        """The canonical JSON form the plan digest is computed over: the image digest plus
        the bench wiring (``bench_host`` and ``eeprom_source`` left out)."""
        data = {
            "image": self.image_digest,
            "dut": self.dut,
            "profile": self.profile,
            "profile_expect": dict(self.profile_expect),
            "argv": list(self.argv),
            "boardctl": self.boardctl,
            "rcm_entry": self.rcm_entry,
            "post_flash": self.post_flash,
            "deadlines": dict(self.deadlines),
        }
        if self.boot_cycles:
            data["boot_cycles"] = self.boot_cycles
        return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)

    @property
    def digest(self) -> str:
        """The plan digest (``--jetson-accept-plan=`` pins it)."""
        return hashlib.sha256(self.canonical().encode()).hexdigest()[:DIGEST_LENGTH]

    @property
    def command(self) -> tuple[str, ...]:
        """The flow tool's command as NVIDIA writes it: ``NAME=value`` words, then the argv."""
        from pytest_jetson.host.runner import assignments

        return (*assignments(self.tool_env), *self.argv)

    def as_dict(self) -> dict[str, object]:
        """Every field, for the summary JSON (``Plan(**d)`` rebuilds it)."""
        data = asdict(self)
        data["argv"] = list(self.argv)
        return data

    def render(self, *, bench: bool = True) -> str:
        """The plan as printed for the operator (the procedure's "Confirm resolution").

        ``bench`` False: the image side only (a plan made from a profile, with no bench).
        """
        eeprom = " ".join(f"{k}={v or '(empty)'}" for k, v in self.eeprom.items()) or "(not read)"
        expect = " ".join(f"{k}={v}" for k, v in self.profile_expect.items())
        deadlines = ", ".join(f"{k} {v:g}s" for k, v in self.deadlines.items())
        conf = " ".join(f"{k}={v}" for k, v in sorted(self.conf.items()) if v)
        if bench:
            head = [
                f"Flash plan for DUT {self.dut} (digest {self.digest})",
                f"  Image digest: {self.image_digest}",
            ]
        else:
            head = [f"Flash plan for profile {self.profile} (image digest {self.image_digest})"]
        lines = [
            *head,
            f"  Target:       {self.target}",
            f"  Profile:      {self.profile}",
            f"  bsp_image:    {self.lft} (version {self.version})",
            f"  Flash conf:   {self.flash_conf}",
            f"  Conf (bash):  {conf or '(none)'}",
            f"  DUT EEPROM  → {eeprom} ({self.eeprom_source})",
            f"  Profile     → {expect}",
            f"  Boot device:  {self.boot_device}",
            f"  Flow tool:    {self.flow_tool}",
            f"  Command:      {shell_words(self.command)}",
            f"  Rootfs A/B:   {'yes (ROOTFS_AB=1)' if self.rootfs_ab else 'no'}",
            f"  Default user: {self.default_user}",
        ]
        if bench:
            lines += [
                f"  boardctl:     {self.boardctl}",
                f"  RCM entry:    {self.rcm_entry}",
                f"  Post-flash:   {self.post_flash}",
                f"  Bench host:   {self.bench_host}",
            ]
            if deadlines:
                lines.append(f"  Deadlines:    {deadlines}")
            if self.boot_cycles:
                lines.append(f"  Boot cycles:  {self.boot_cycles}")
        return "\n".join(lines)


def image_argv(argv: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``argv`` without bench-only words (``--usb-instance <port>``)."""
    words = list(argv)
    if "--usb-instance" in words:
        at = words.index("--usb-instance")
        del words[at : at + 2]
    return tuple(words)


def shell_words(words: tuple[str, ...] | list[str]) -> str:
    """A command as NVIDIA's guides write it: a word with a space in double quotes."""
    return " ".join(f'"{w}"' if " " in w else w for w in words)


def _digest(data: Mapping[str, object]) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:DIGEST_LENGTH]


def relative_to_profile(path: Path, profile_path: Path) -> str:
    """``path`` relative to the profile's folder (stable when both move together)."""
    try:
        return os.path.relpath(path, profile_path.parent)
    except ValueError:
        return str(path)


class Acceptance:
    """How ``--jetson-accept-plan`` was given: not at all, bare (any plan), ``=DIGEST`` (that
    exact plan, whatever the DUT) or ``=DUT=DIGEST`` (repeatable: one pin per DUT).

    Per-DUT pins win over the other forms; when any pin is given, a DUT without one is refused,
    so a multi-DUT CI job that pins each DUT's plan never flashes an unpinned board.
    """

    ANY = "*"

    def __init__(self, values: str | Sequence[str] | None) -> None:
        if isinstance(values, str):
            values = [values]
        self.values: tuple[str, ...] = tuple(values or ())
        self.pins: dict[str, str] = {}
        self.digests: set[str] = set()
        for value in self.values:
            dut, sep, digest = value.rpartition("=")
            if sep:
                self.pins[dut] = digest.lower()
            elif value != self.ANY:
                self.digests.add(value.lower())

    @property
    def given(self) -> bool:
        """Whether the option was given at all."""
        return bool(self.values)

    def problems(self, duts: Sequence[str]) -> list[str]:
        """What is wrong with the values for a session of ``duts`` (checked at start-up)."""
        found: list[str] = []
        for dut in self.pins:
            if dut not in duts:
                found.append(f"--jetson-accept-plan: {excerpt(dut)} is not a selected DUT")
        for digest in [*self.digests, *self.pins.values()]:
            if not re.fullmatch(f"[0-9a-f]{{{DIGEST_LENGTH}}}", digest):
                found.append(
                    f"--jetson-accept-plan: {excerpt(digest)} is not a plan digest "
                    f"({DIGEST_LENGTH} hex digits, as the plan prints it)"
                )
        return found

    def accepts(self, plan: Plan) -> bool:
        """Whether this acceptance covers ``plan``."""
        if self.pins:
            return self.pins.get(plan.dut) == plan.digest
        return self.ANY in self.values or plan.digest in self.digests

    def refusal(self, plan: Plan) -> str:
        """Why ``plan`` is not accepted, with the plan and how to accept it."""
        pinned = self.pins.get(plan.dut)
        if self.pins and pinned is None:
            head = (
                f"--jetson-accept-plan pins the plans of {', '.join(sorted(self.pins))} "
                f"but not of DUT {plan.dut}: an unpinned DUT is never flashed"
            )
        elif pinned is not None or self.digests:
            given = f"{plan.dut}={pinned}" if pinned is not None else "|".join(sorted(self.digests))
            head = (
                f"the plan's digest is {plan.digest}, but --jetson-accept-plan={given} "
                "was given: what would be flashed has changed"
            )
        else:
            head = "flashing needs explicit acceptance of the plan"
        return (
            f"{head}\n\n{plan.render()}\n\n"
            f"Accept this exact plan with --jetson-accept-plan={plan.digest} "
            f"(or --jetson-accept-plan={plan.dut}={plan.digest} for this DUT alone, "
            "or any plan with a bare --jetson-accept-plan)."
        )
