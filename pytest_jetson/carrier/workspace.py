"""The gates of derive-carrier and the resolved workspace they hand to the rows.

Every refusal says what is missing and what to do about it.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from pytest_jetson.carrier.errors import DeriveRefused
from pytest_jetson.carrier.naming import CarrierNames
from pytest_jetson.catalogue import chip_for_module
from pytest_jetson.profile import Profile


@dataclass(frozen=True)
class Workspace:
    """Where the derivation reads (LFT) and writes (overlay tracker, hardware repo)."""

    profile: Profile
    names: CarrierNames
    lft: Path
    tracker: Path
    hardware: Path
    """The hardware repository (``<src>/hardware`` or ``<src>/bsp_sources/hardware``)."""
    real_conf: str
    """The reference devkit conf after following its symlink (LFT-relative name)."""
    conf_is_symlink: bool

    @property
    def overlay_dir_rel(self) -> str:
        """The overlay directory relative to the hardware repository."""
        return f"nvidia/{self.names.chip.dt_dir}/nv-public/overlay"


def _is_work_tree(path: Path) -> bool:
    return (path / ".git").exists()


def _refuse(profile: Profile, message: str) -> DeriveRefused:
    return DeriveRefused(message, path=str(profile.path))


def check(profile: Profile) -> Workspace:
    """Apply every gate of the procedure and resolve the workspace, or refuse."""
    ref = profile.reference_devkit
    custom = profile.custom_carrier
    if custom is None:
        raise _refuse(
            profile,
            "no custom_carrier block: declare custom_carrier: {id, sku, flash_config, name} in "
            "the profile before deriving (derive-carrier never infers it)",
        )
    if not custom.sku:
        raise _refuse(profile, 'custom_carrier.sku is missing: add it (a string such as "0000")')
    if not (ref.module.id and ref.module.sku and ref.carrier.id and ref.carrier.sku):
        raise _refuse(
            profile,
            "reference_devkit needs module {id, sku} and carrier {id, sku}: the rename rule "
            "substitutes the reference carrier's <id>-<sku> tokens",
        )
    if profile.bsp_image is None:
        raise _refuse(
            profile,
            "no bsp_image block: add bsp_image.root_path (populate it with jetson-init-image)",
        )
    lft = profile.bsp_image.lft
    if not (lft / "bootloader").is_dir() or not (lft / ref.flash_config).exists():
        raise _refuse(
            profile,
            f"bsp_image is not populated: {lft} must hold bootloader/ and "
            f"{ref.flash_config} (run jetson-init-image to promote the BSP image)",
        )
    if profile.source is None:
        raise _refuse(
            profile, "no source block: add source.root_path (set it up with jetson-init-source)"
        )
    tracker = profile.source.overlay_tracker
    if not _is_work_tree(tracker):
        raise _refuse(
            profile,
            f"{tracker}/.git is missing: the overlay tracker is not initialized "
            "(run jetson-init-source first)",
        )
    root = profile.source.root_path
    candidates = [root / "hardware", root / "bsp_sources" / "hardware"]
    repos = [c for c in candidates if _is_work_tree(c)]
    if len(repos) != 1:
        state = "neither is" if not repos else "both are"
        raise _refuse(
            profile,
            f"the hardware repository must be exactly one git work tree of {candidates[0]} or "
            f"{candidates[1]}, but {state} (NVIDIA's own layout is "
            "Linux_for_Tegra/source/hardware/nvidia/...; run jetson-init-source)",
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chip = chip_for_module(ref.module.id)
    for warning in caught:
        warnings.warn(str(warning.message), warning.category, stacklevel=2)
    names = CarrierNames(
        chip=chip,
        module_id=ref.module.id,
        module_sku=ref.module.sku,
        carrier_id=ref.carrier.id,
        carrier_sku=ref.carrier.sku,
        custom_id=custom.id,
        custom_sku=custom.sku,
        custom_flash_conf=custom.flash_config,
        custom_name=custom.name or custom.id,
    )
    devkit = lft / ref.flash_config
    is_link = devkit.is_symlink()
    real = os.readlink(devkit) if is_link else ref.flash_config
    if is_link and not (devkit.parent / real).is_file():
        raise _refuse(profile, f"{devkit} points at {real}, which does not exist in the LFT")
    real_rel = (devkit.parent / real).resolve().relative_to(lft.resolve()).as_posix()
    return Workspace(profile, names, lft, tracker, repos[0], real_rel, is_link)
