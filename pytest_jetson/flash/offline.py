"""The plan without a board: what a flash would run, from a profile (and a bench entry).

No boardctl, USB or serial: the EEPROM values are given (``--eeprom``) or taken from the
profile, the default user is what the preflight would decide from the rootfs and the bench's
choice, and nothing is staged. With a bench entry the plan digest equals the one
``--jetson-flash --jetson-plan-only`` prints for the same EEPROM values, so CI can pin it
before a bench is free.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pytest_jetson.bench import DefaultUser
from pytest_jetson.drivers.defaultuser import UserStaging, staged_user
from pytest_jetson.drivers.eeprom import BoardId, profile_board
from pytest_jetson.errors import ConfigError
from pytest_jetson.flash.plan import Plan, relative_to_profile
from pytest_jetson.flash.resolve import Resolution, parse_eeprom, resolve
from pytest_jetson.lft.paths import Lft
from pytest_jetson.profile import Profile

FROM_PROFILE = "the profile's values, no EEPROM read; --eeprom gives the board's"
GIVEN = "given with --eeprom"


@dataclass(frozen=True)
class OfflinePlan:
    """A plan made without a board, and whether it would be refused."""

    plan: Plan
    resolution: Resolution
    bench: bool
    """Made for a bench entry (``--dut``): the plan digest means something."""
    lft: Path
    """The tree that was resolved."""

    @property
    def refused(self) -> bool:
        """A file the flow needs is missing: the flow would refuse this plan."""
        return bool(self.resolution.missing)

    def render(self) -> str:
        """The plan, then the refusal (if any)."""
        text = self.plan.render(bench=self.bench)
        if self.refused:
            lft = Lft(self.lft)
            problems = "; ".join(f.problem(lft) for f in self.resolution.missing)
            fixes = " ".join(dict.fromkeys(f.fix for f in self.resolution.missing))
            text += f"\nRefused: the flow needs files the image lacks: {problems}\nFix: {fixes}"
        return text

    def as_json(self) -> str:
        """The plan, its digests and the missing files as JSON."""
        data: dict[str, object] = {
            "plan": self.plan.as_dict(),
            "image_digest": self.plan.image_digest,
            "missing": [
                {"variable": f.variable, "path": str(f.path)} for f in self.resolution.missing
            ],
        }
        if self.bench:
            data["digest"] = self.plan.digest
        return json.dumps(data, indent=2, sort_keys=True)


def eeprom_board(text: str | None, profile: Profile) -> tuple[BoardId, str]:
    """The EEPROM values to plan with and where they came from."""
    if text is None:
        return profile_board(profile), FROM_PROFILE
    return parse_eeprom(text), GIVEN


def predicted_staging(lft: Path, choice: DefaultUser | None) -> UserStaging | None:
    """What the default-user preflight would decide, without staging anything."""
    evidence = staged_user(lft / "rootfs")
    if evidence is not None:
        return UserStaging("kept", None, evidence)
    if choice is None:
        return None
    if choice.kind == "skip":
        return UserStaging("skip", None)
    return UserStaging("staged", choice.name)


def profile_plan(
    profile: Profile, *, lft: Path | None, eeprom: str | None, boot_device: str | None
) -> OfflinePlan:
    """The image side of the plan of ``profile`` (no bench entry); ``lft`` replaces the
    profile's ``bsp_image`` tree."""
    given_lft = lft is not None
    if lft is None:
        if profile.bsp_image is None:
            raise ConfigError(
                f"profile {profile.path} has no bsp_image: give --lft PATH/Linux_for_Tegra",
                key="bsp_image",
            )
        lft = profile.bsp_image.lft
    if not lft.is_dir():
        raise ConfigError(f"Linux_for_Tegra not found at {lft}", key="bsp_image.root_path")
    board, source = eeprom_board(eeprom, profile)
    device = boot_device or profile.boot_device
    resolution = resolve(profile, lft, board=board, boot_device=device, usb_port=None)
    staging = predicted_staging(lft, None)
    image = lft if given_lft or profile.bsp_image is None else profile.bsp_image.lft
    module = profile.reference_devkit.module
    plan = Plan(
        dut="(no bench)",
        target=profile.target_name,
        profile=profile.path.name,
        lft=relative_to_profile(image, profile.path),
        version=resolution.version,
        flash_conf=profile.flash_config,
        eeprom=dict(resolution.eeprom),
        profile_expect={
            "module.sku": module.sku or "(any)",
            "module.revision": module.revision or "(any)",
        },
        boot_device=device or "(none)",
        flow_tool=resolution.choice.tool,
        argv=resolution.choice.argv,
        tool_env=dict(resolution.choice.env),
        boardctl="(no bench)",
        rcm_entry="(no bench)",
        post_flash="(no bench)",
        default_user=staging.plan_value
        if staging is not None
        else "(the bench entry's default_user)",
        conf=dict(resolution.conf),
        rootfs_ab=profile.rootfs_ab,
        eeprom_source=source,
    )
    return OfflinePlan(plan, resolution, bench=False, lft=lft)
