"""Shared set-up for the derive-carrier tests: simulated trees, source workspaces, profiles.

Everything here is real: trees from :mod:`pytest_jetson.sim.tree`, git repositories (with a
bare origin) from :mod:`pytest_jetson.sim.workspace`, profiles written as YAML and loaded by
the product's loader.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from pytest_jetson.profile import Profile, load_profile
from pytest_jetson.sim.tree import SimTree, make_tree
from pytest_jetson.sim.workspace import SourceWorkspace, make_source_workspace

CUSTOM_ID = "acme1"
CUSTOM_SKU = "0000"


@dataclass(frozen=True)
class Case:
    """One simulated tree, its source workspace and a profile naming both."""

    root: Path
    tree: SimTree
    ws: SourceWorkspace
    profile_path: Path

    @property
    def profile(self) -> Profile:
        return load_profile(self.profile_path)

    @property
    def tracker(self) -> Path:
        return self.ws.overlay_tracker

    def git(self, repo: Path, *args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=repo, check=True, capture_output=True, text=True
        ).stdout


def write_profile(
    root: Path, tree: SimTree, *, custom: str | None = None, source: str = "src"
) -> Path:
    board = tree.board
    custom_block = (
        custom
        if custom is not None
        else (
            f'custom_carrier: {{id: {CUSTOM_ID}, sku: "{CUSTOM_SKU}", '
            f"flash_config: {CUSTOM_ID}-{board.module_id}.conf, name: ACME carrier}}\n"
        )
    )
    text = (
        "reference_devkit:\n"
        f"  name: {board.devkit_name}\n"
        f'  module: {{id: {board.module_id}, sku: "{board.module_sku}", '
        f'revision: "{board.eeprom.fab}"}}\n'
        f'  carrier: {{id: {board.carrier_id}, sku: "{board.carrier_sku}"}}\n'
        f"  flash_config: {board.devkit_conf}\n"
        f"{custom_block}"
        f"bsp_image: {{root_path: img, version: {tree.release}}}\n"
        f"source: {{root_path: {source}}}\n"
    )
    path = root / "profile.yaml"
    path.write_text(text)
    return path


CaseFactory = Callable[..., Case]


@pytest.fixture(scope="module")
def make_case(tmp_path_factory: pytest.TempPathFactory) -> CaseFactory:
    """Build a fresh tree + workspace + profile (cheap: ~0.2 s)."""

    def build(
        board: str,
        *,
        form: str = "hardware",
        origin: bool = True,
        pristine: bool = True,
        nvpower_cvb: bool = True,
        with_gpio_config: bool = False,
        custom: str | None = None,
    ) -> Case:
        root = tmp_path_factory.mktemp(board)
        tree = make_tree(
            root / "img", board, nvpower_cvb=nvpower_cvb, with_gpio_config=with_gpio_config
        )
        ws = make_source_workspace(
            root / "src",
            tree,
            form=form,
            origin=origin,
            pristine=pristine,  # type: ignore[arg-type]
        )
        return Case(root, tree, ws, write_profile(root, tree, custom=custom))

    return build


def flash_view(case: Case, dest: Path) -> Path:
    """A copy of the LFT with the overlay tracker's files laid over it (what gets flashed)."""
    shutil.copytree(case.tree.lft, dest, symlinks=True)
    for rel in case.git(case.tracker, "ls-files", "-z").split("\0"):
        if not rel or rel.startswith("."):
            continue
        src, dst = case.tracker / rel, dest / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if dst.is_symlink() or dst.exists():
            dst.unlink()
        if src.is_symlink():
            dst.symlink_to(src.readlink())
        else:
            shutil.copy2(src, dst)
    return dest
