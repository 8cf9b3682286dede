"""The gates refuse before touching anything, and say what to do."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_jetson.carrier import DeriveRefused, accept_all, derive_carrier
from pytest_jetson.profile import load_profile
from pytest_jetson.sim.workspace import make_source_workspace

from .conftest import Case, CaseFactory, write_profile


@pytest.fixture(scope="module")
def case(make_case: CaseFactory) -> Case:
    return make_case("orin-agx")


def refusal(profile_path: Path) -> str:
    with pytest.raises(DeriveRefused) as info:
        derive_carrier(load_profile(profile_path), accept_all)
    return str(info.value)


def test_without_custom_carrier_block(case: Case, tmp_path: Path) -> None:
    (tmp_path / "img").symlink_to(case.tree.root)
    (tmp_path / "src").symlink_to(case.ws.root)
    message = refusal(write_profile(tmp_path, case.tree, custom=""))
    assert "no custom_carrier block" in message and "declare custom_carrier" in message


def test_without_overlay_tracker(case: Case, tmp_path: Path) -> None:
    (tmp_path / "img").symlink_to(case.tree.root)
    (tmp_path / "src").mkdir()
    message = refusal(write_profile(tmp_path, case.tree))
    assert "Linux_for_Tegra/.git is missing" in message and "jetson-init-source" in message


def test_with_an_unpopulated_bsp_image(case: Case, tmp_path: Path) -> None:
    (tmp_path / "img" / "Linux_for_Tegra").mkdir(parents=True)
    (tmp_path / "src").symlink_to(case.ws.root)
    message = refusal(write_profile(tmp_path, case.tree))
    assert "bsp_image is not populated" in message and "jetson-init-image" in message


def test_without_reference_carrier_sku(case: Case, tmp_path: Path) -> None:
    (tmp_path / "img").symlink_to(case.tree.root)
    (tmp_path / "src").symlink_to(case.ws.root)
    path = write_profile(tmp_path, case.tree)
    path.write_text(
        re.sub(r'carrier: \{id: (\w+), sku: "0000"\}', r"carrier: {id: \1}", path.read_text())
    )
    assert "reference_devkit needs module {id, sku} and carrier {id, sku}" in refusal(path)


def test_hardware_repo_in_both_places_or_only_in_nvidias_layout(
    case: Case, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp("both")
    (root / "img").symlink_to(case.tree.root)
    make_source_workspace(root / "src", case.tree, form="hardware", origin=False)
    make_source_workspace(root / "src", case.tree, form="bsp_sources", origin=False)
    message = refusal(write_profile(root, case.tree))
    assert "both are" in message and "bsp_sources/hardware" in message
    root = tmp_path_factory.mktemp("nvidia")
    (root / "img").symlink_to(case.tree.root)
    make_source_workspace(root / "src", case.tree, form="lft_source", origin=False)
    message = refusal(write_profile(root, case.tree))
    assert "neither is" in message and "Linux_for_Tegra/source/hardware/nvidia" in message
    assert not (root / "src" / "Linux_for_Tegra" / "acme1-p3701.conf").exists()
