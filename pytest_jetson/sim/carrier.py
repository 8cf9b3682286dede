"""The built-in simulated custom carrier: a profile, an image and a source workspace to derive.

``sim-orin-carrier`` is an AGX Orin devkit with a custom carrier declared (``p1234``, as in
``profiles/acme-orin-carrier.yaml``). derive-carrier needs three things NVIDIA's procedure has
a person set up first: a populated BSP image, an overlay tracker (``<source>/Linux_for_Tegra``,
a git repository holding the pristine L4T files) and a hardware repository
(``<source>/hardware``, the device-tree sources) whose ``origin`` the overlay commit is pushed
to. They are made once, under ``<base>/.jetson/sim/<name>/``, and kept: a second derivation
finds the carrier already derived, as it would in a real workspace.

The product finds the profile by name through the ``pytest_jetson.profiles`` entry point
(:func:`shipped_profile`); the simulator's DUT of the same name uses the same workspace.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml
from filelock import FileLock

from pytest_jetson.sim.boards import SimBoard, board_by_key
from pytest_jetson.sim.tree import make_tree
from pytest_jetson.sim.workspace import make_source_workspace

CARRIER_DUTS: dict[str, str] = {"sim-orin-carrier": "orin-agx"}
"""Built-in simulated DUT (and profile) name with a custom carrier → simulated board."""
CUSTOM_CARRIER = {
    "id": "p1234",
    "sku": "0000",
    "flash_config": "p1234.conf",
    "name": "Acme Custom Carrier",
}
"""The declared custom carrier (derive-carrier never infers it)."""
STATE_DIR = Path(".jetson") / "sim"
"""Where, under the working folder (pytest: the rootdir), the workspaces are kept."""
PROFILE_FILE = "profile.yaml"
"""Written last: its presence says the workspace is complete."""


@dataclass(frozen=True)
class CarrierBench:
    """A kept simulated carrier workspace."""

    root: Path
    profile_path: Path
    """The profile naming the image, the source workspace and the custom carrier."""
    source: Path
    """``source.root_path``: the overlay tracker and the hardware repository."""


def carrier_bench(base: Path, name: str) -> CarrierBench:
    """The workspace of carrier ``name`` under ``base``, made on first use.

    Two sessions making it at once take turns on a lock; an interrupted build (no profile
    yet) is removed and made again.
    """
    board = board_by_key(CARRIER_DUTS[name])
    root = Path(base).absolute() / STATE_DIR / name
    root.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root.parent / f"{name}.lock")):
        profile = root / PROFILE_FILE
        if not profile.is_file():
            shutil.rmtree(root, ignore_errors=True)
            tree = make_tree(root / "image", board.key)
            make_source_workspace(root / "source", tree, form="hardware", origin=True)
            _write_profile(profile, board, tree.release)
    return CarrierBench(root=root, profile_path=profile, source=root / "source")


def shipped_profile(base: Path) -> Path:
    """Entry point ``pytest_jetson.profiles`` → ``sim-orin-carrier``: its profile file."""
    return carrier_bench(base, "sim-orin-carrier").profile_path


def _write_profile(path: Path, board: SimBoard, release: str) -> None:
    data = {
        "reference_devkit": board.reference_devkit(),
        "custom_carrier": dict(CUSTOM_CARRIER),
        "bsp_image": {"root_path": "image", "version": release},
        "source": {"root_path": "source"},
        "boot_device": board.default_boot_device,
    }
    header = (
        "# Simulated custom carrier (pytest-jetson simulator): image/ is a synthetic\n"
        "# Linux_for_Tegra, source/ the overlay tracker and hardware repository.\n"
    )
    path.write_text(header + yaml.safe_dump(data, sort_keys=False))
